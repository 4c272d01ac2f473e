import type { AgentSocket } from "./http1/socket.ts";

/**
 * Graceful shutdown of agent connections (SIGTERM): once draining, a connection with no request in
 * flight is closed at once, a busy one as soon as its response has been written completely, and
 * whatever is still open when the bound expires is cut. `end()`, not `destroy()`, so the last
 * response bytes queued on the socket still go out.
 */
export interface Drain {
  /** The `onRequest` hook for one connection (told when a request starts and when it is answered). */
  watch(socket: AgentSocket): (active: boolean) => void;
  /** Resolves once every socket in `open` has closed, or after `boundMs` (the rest is destroyed). */
  close(open: ReadonlySet<AgentSocket>, boundMs: number): Promise<void>;
}

export function createDrain(): Drain {
  const busy = new WeakSet<AgentSocket>();
  let draining = false;
  return {
    watch: (socket) => (active) => {
      if (active) busy.add(socket);
      else busy.delete(socket);
      if (!active && draining) socket.end();
    },
    async close(open, boundMs) {
      draining = true;
      for (const socket of open) if (!busy.has(socket)) socket.end();
      await untilClosed(open, boundMs);
      for (const socket of open) socket.destroy();
    },
  };
}

async function untilClosed(open: ReadonlySet<AgentSocket>, boundMs: number): Promise<void> {
  const closed = [...open].map(
    (socket) =>
      new Promise<void>((resolve) => {
        socket.onceClosed(resolve);
      }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs);
  });
  await Promise.race([Promise.all(closed), bound]);
  clearTimeout(timer);
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

export interface Deadlines {
  /** Milliseconds from the handshake to the first complete request head. */
  headers: number;
  /** Milliseconds a kept-alive connection may wait for its next request. */
  idle: number;
  /** Milliseconds for one request, from its head to the end of its response. */
  request: number;
}

/**
 * Time limits for a connection bridged into node:http. Under Bun 1.4.5 the http server's own
 * headersTimeout/requestTimeout/keepAliveTimeout do not apply to sockets handed over with
 * `emit("connection")` (verified: a half-sent request head and an idle connection both stayed
 * open past every limit), so a slowloris client could hold connections forever. These timers
 * destroy the socket instead. Returns the hook to call for each request on this connection.
 */
export function guardConnection(
  socket: TLSSocket,
  deadlines: Deadlines,
): (req: IncomingMessage, res: ServerResponse) => void {
  const arm = (ms: number) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    return timer;
  };
  let waiting = arm(deadlines.headers);
  const inFlight = new Set<ReturnType<typeof setTimeout>>();
  socket.once("close", () => {
    clearTimeout(waiting);
    for (const timer of inFlight) clearTimeout(timer);
  });
  return (_req, res) => {
    clearTimeout(waiting);
    const timer = arm(deadlines.request);
    inFlight.add(timer);
    res.once("close", () => {
      clearTimeout(timer);
      inFlight.delete(timer);
      if (inFlight.size === 0 && !socket.destroyed) waiting = arm(deadlines.idle);
    });
  };
}

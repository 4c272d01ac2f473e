/**
 * One Redis connection with bounded waits. Bun's client queues commands while disconnected and can
 * give up reconnecting for good; here the offline queue is off, every command has a deadline and a
 * dropped connection is re-established on the next command, so callers fail fast while Redis is
 * down and recover by themselves once it is back.
 */
import { RedisClient } from "bun";
import { RendezvousError } from "../../core/errors.ts";

export interface LinkTimeouts {
  connectMs: number;
  commandMs: number;
}

export interface RedisLink {
  /** Throws RendezvousError `temporarily_unavailable` when Redis cannot answer in time. */
  send(command: string, args: string[]): Promise<unknown>;
  close(): void;
}

/**
 * Our own connect deadline backs up the client's `connectionTimeout` and fires a little later, so
 * normally the client's attempt settles first and the next command starts a fresh one.
 */
const CONNECT_MARGIN_MS = 250;

/** Server replies that mean "try again later", not "this command is wrong". */
const TRANSIENT_REPLIES = ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "TRYAGAIN", "CLUSTERDOWN"];

export function createRedisLink(url: string, timeouts: LinkTimeouts): RedisLink {
  const client = new RedisClient(url, {
    connectionTimeout: timeouts.connectMs,
    enableOfflineQueue: false,
    autoReconnect: false,
  });
  let connecting: Promise<unknown> | undefined;
  let closed = false;

  const connect = (): Promise<unknown> => {
    connecting ??= client.connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    async send(command, args) {
      if (closed) throw unreachable();
      try {
        if (!client.connected) await withDeadline(connect(), timeouts.connectMs + CONNECT_MARGIN_MS);
        return await withDeadline(client.send(command, args), timeouts.commandMs);
      } catch (error) {
        // A connection that let a command time out may be half-dead (no RST after a partition):
        // drop it so the next command dials afresh instead of waiting on it again.
        if (error === TIMED_OUT && client.connected) client.close();
        throw asRendezvousError(error);
      }
    },
    close() {
      closed = true;
      client.close();
    },
  };
}

const TIMED_OUT = Symbol("timed out");

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function unreachable(cause?: unknown): RendezvousError {
  return new RendezvousError("temporarily_unavailable", "rendezvous store unreachable", { cause });
}

/**
 * The Redis error text is deliberately not copied into our message or cause: a reply may echo
 * command arguments, and `deliver` sends the agent's token response.
 */
function asRendezvousError(error: unknown): RendezvousError {
  if (error instanceof RendezvousError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "ERR_REDIS_SERVER_ERROR") return unreachable();
  const reply = error instanceof Error ? error.message : "";
  if (TRANSIENT_REPLIES.some((prefix) => reply.startsWith(prefix))) return unreachable();
  return new RendezvousError("server_error", "rendezvous store rejected a command");
}

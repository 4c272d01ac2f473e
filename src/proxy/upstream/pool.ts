/**
 * Idle keep-alive connections, per origin. Most recently used first (it is the least likely to have
 * been closed by the upstream); a bounded number per origin; closed after an idle timeout by one
 * lazy sweep timer per pool, not one timer per connection or request.
 */

import type { Connection } from "./connection.ts";

export class ConnectionPool {
  readonly #idle = new Map<string, Connection[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #onIdleClose = (connection: Connection) => this.#remove(connection);

  constructor(
    private readonly maxPerOrigin: number,
    private readonly idleTimeoutMs: number,
  ) {}

  /** An open idle connection to `origin`, now owned by the caller, or undefined. */
  acquire(origin: string): Connection | undefined {
    const list = this.#idle.get(origin);
    if (list === undefined) return undefined;
    let connection = list.pop();
    // Closed ones are removed by `onIdleClose`; this guards against one closed without a callback.
    while (connection?.closed === true) connection = list.pop();
    if (list.length === 0) this.#idle.delete(origin);
    if (connection !== undefined) connection.onIdleClose = undefined;
    return connection;
  }

  /** Keeps a connection whose last exchange ended cleanly, or closes it if the pool is full or closed. */
  release(connection: Connection): void {
    const list = this.#idle.get(connection.origin) ?? [];
    if (this.#closed || connection.closed || list.length >= this.maxPerOrigin) {
      connection.close();
      return;
    }
    connection.idleSince = performance.now();
    connection.onIdleClose = this.#onIdleClose;
    // Reading again (a body's back-pressure may have paused it) so an upstream close is noticed at once.
    connection.resume();
    connection.setActive(false);
    list.push(connection);
    this.#idle.set(connection.origin, list);
    this.#timer ??= this.#arm(this.idleTimeoutMs);
  }

  /** Closes every idle connection; later releases close theirs instead of pooling them. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const list of this.#idle.values()) for (const connection of list) connection.close();
    this.#idle.clear();
  }

  #remove(connection: Connection): void {
    const list = this.#idle.get(connection.origin);
    const index = list?.indexOf(connection) ?? -1;
    if (list === undefined || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.#idle.delete(connection.origin);
  }

  #arm(delay: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#sweep(), Math.max(1, delay));
    timer.unref();
    return timer;
  }

  /** Closes connections idle for idleTimeoutMs or longer; re-arms for the oldest one left. */
  #sweep(): void {
    this.#timer = undefined;
    const now = performance.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const [origin, list] of this.#idle) {
      const kept: Connection[] = [];
      for (const connection of list) {
        if (now - connection.idleSince >= this.idleTimeoutMs) connection.close();
        else {
          kept.push(connection);
          oldest = Math.min(oldest, connection.idleSince);
        }
      }
      if (kept.length === 0) this.#idle.delete(origin);
      else this.#idle.set(origin, kept);
    }
    if (oldest !== Number.POSITIVE_INFINITY) this.#timer = this.#arm(oldest + this.idleTimeoutMs - now);
  }
}

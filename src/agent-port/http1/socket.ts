import type { Socket } from "bun";

/** Bytes accepted before the connection is authenticated; a request head is far smaller. */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * One agent connection as the HTTP/1.1 layer sees it: bytes in (`receive`, then `attach`), bytes out
 * with back-pressure (`write` → false, then `drained()`), half-close and abort. Bun's socket `write`
 * takes what the TLS layer accepts now and drops the rest, so the remainder waits here for `drain`.
 */
export class AgentSocket {
  destroyed = false;
  /** `end()` was called: nothing more may be written. */
  writableEnded = false;
  #queue: Uint8Array[] = [];
  #corked: Array<string | Uint8Array> | undefined;
  /** Bytes in `#corked` (a string's length is its latin1 byte count). */
  #corkedBytes = 0;
  #endPending = false;
  #closed = false;
  #waiters: Array<() => void> = [];
  #closeListeners: Array<() => void> = [];
  #consumer: ((chunk: Buffer) => void) | undefined;
  #early: Buffer[] = [];
  #earlyBytes = 0;

  constructor(readonly raw: Socket<unknown>) {}

  /**
   * Bytes from the listener. Until a consumer is attached (after authentication) they wait here,
   * bounded: nothing a client sends is parsed before its certificate passed, whatever the order in
   * which the TLS layer reports the handshake and the first data.
   */
  receive(chunk: Buffer): void {
    if (this.#consumer !== undefined) {
      this.#consumer(chunk);
      return;
    }
    this.#earlyBytes += chunk.byteLength;
    if (this.#earlyBytes > MAX_EARLY_BYTES) this.destroy();
    else this.#early.push(chunk);
  }

  /** Hands every byte received so far, then each new one, to `consumer`. */
  attach(consumer: (chunk: Buffer) => void): void {
    this.#consumer = consumer;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) if (!this.destroyed) consumer(chunk);
  }

  get remoteAddress(): string {
    return this.raw.remoteAddress;
  }

  /**
   * Strings go out as latin1, one byte per char: header values are byte strings (RFC 9110 §5.5
   * obs-text), which UTF-8 would re-encode. Returns false once bytes wait for the peer to read.
   */
  write(data: string | Uint8Array): boolean {
    if (this.destroyed || this.writableEnded) return false;
    if (this.#corked !== undefined) {
      // Kept as given: uncork() copies every part once, into the one buffer it writes.
      if (data.length > 0) {
        this.#corked.push(data);
        this.#corkedBytes += data.length;
      }
      return true;
    }
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    if (bytes.byteLength === 0) return this.#queue.length === 0;
    return this.#send(bytes);
  }

  /** Collects writes into one until `uncork()`: each socket write costs a TLS record and a syscall. */
  cork(): void {
    this.#corked ??= [];
  }

  uncork(): void {
    const corked = this.#corked;
    const size = this.#corkedBytes;
    this.#corked = undefined;
    this.#corkedBytes = 0;
    if (corked === undefined || corked.length === 0 || this.destroyed) return;
    const [first] = corked;
    this.#send(
      corked.length === 1 && typeof first !== "string" ? (first as Uint8Array) : joined(corked, size),
    );
    if (this.#endPending && this.#queue.length === 0) this.raw.end();
  }

  /** Resolves once every queued byte was handed to the TLS layer, or the connection closed. */
  drained(): Promise<void> {
    if (this.#queue.length === 0 || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Half-closes after the queued bytes (and `data`, if given) went out. */
  end(data?: string): void {
    if (this.destroyed || this.writableEnded) return;
    if (data !== undefined) this.write(data);
    this.uncork();
    this.writableEnded = true;
    if (this.#queue.length === 0) this.raw.end();
    else this.#endPending = true;
  }

  /** Closes at once; queued bytes are dropped. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.raw.terminate();
    this.#wake();
  }

  pause(): void {
    if (!this.destroyed) this.raw.pause();
  }

  resume(): void {
    if (!this.destroyed) this.raw.resume();
  }

  onceClosed(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /** The listener's `drain` event: the TLS layer can take more. */
  flush(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Uint8Array;
      const taken = Math.max(0, this.raw.write(next));
      if (taken < next.byteLength) {
        this.#queue[0] = next.subarray(taken);
        return;
      }
      this.#queue.shift();
    }
    if (this.#endPending) {
      this.#endPending = false;
      this.raw.end();
    }
    this.#wake();
  }

  /** The listener's `close` event. */
  closed(): void {
    this.destroyed = true;
    this.#closed = true;
    this.#queue = [];
    this.#wake();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener();
  }

  #send(bytes: Uint8Array): boolean {
    if (this.#queue.length > 0) {
      this.#queue.push(bytes);
      return false;
    }
    const taken = Math.max(0, this.raw.write(bytes));
    if (taken === bytes.byteLength) return true;
    this.#queue.push(bytes.subarray(taken));
    return false;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The parts in one buffer, strings as latin1: one allocation and one copy of each part. */
function joined(parts: ReadonlyArray<string | Uint8Array>, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) {
    if (typeof part === "string") at += out.write(part, at, "latin1");
    else {
      out.set(part, at);
      at += part.byteLength;
    }
  }
  return out;
}

import { ChunkedDecoder } from "./chunked.ts";
import type { Framing } from "./head.ts";
import type { RelayUpload } from "./types.ts";

/** Bytes buffered ahead of the handler before the socket is paused. */
const HIGH_WATER_MARK = 64 * 1024;

export interface BodyHooks {
  /** The consumer is behind: stop reading the socket. */
  pause(): void;
  /** The consumer wants more. */
  resume(): void;
  /** The consumer gave up on the body (it will never be read to its end). */
  abandon(): void;
}

/** A request body being received, whoever consumes it (the handler's stream or the byte relay). */
export interface ReceivingBody {
  complete: boolean;
  /** Takes socket bytes; returns those past the body's end. Throws ChunkedError on broken framing. */
  push(input: Uint8Array): Uint8Array | undefined;
  /** The connection ended before the body did. */
  fail(reason: unknown): void;
}

/**
 * Where a request body ends (RFC 9112 §6.3): decoded content goes to `emit`, bytes past the end
 * belong to the next request and are returned.
 */
export class BodyFraming {
  complete = false;
  #remaining: number;
  readonly #chunked: ChunkedDecoder | undefined;

  constructor(framing: Exclude<Framing, { kind: "none" }>) {
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#chunked = framing.kind === "chunked" ? new ChunkedDecoder() : undefined;
  }

  /** Throws ChunkedError on broken chunked framing. */
  push(input: Uint8Array, emit: (data: Uint8Array) => void): Uint8Array | undefined {
    if (this.#chunked !== undefined) {
      const rest = this.#chunked.push(input, emit);
      if (this.#chunked.done) this.complete = true;
      return rest;
    }
    const take = Math.min(this.#remaining, input.length);
    this.#remaining -= take;
    if (this.#remaining === 0) this.complete = true;
    if (take > 0) emit(take === input.length ? input : input.subarray(0, take));
    return take < input.length ? input.subarray(take) : undefined;
  }
}

/**
 * A request body for the handler: bytes go in with `push`, the handler reads `stream`.
 */
export class IncomingBody implements ReceivingBody {
  readonly stream: ReadableStream<Uint8Array>;
  complete = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly #framing: BodyFraming;
  readonly #hooks: BodyHooks;
  readonly #enqueue = (data: Uint8Array) => this.#take(data);

  constructor(framing: Exclude<Framing, { kind: "none" }>, hooks: BodyHooks) {
    this.#framing = new BodyFraming(framing);
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => hooks.resume(),
        cancel: () => hooks.abandon(),
      },
      { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.#hooks = hooks;
  }

  /**
   * Takes socket bytes; returns those past the body's end (or undefined). Throws ChunkedError on
   * broken chunked framing, after erroring the stream.
   */
  push(input: Uint8Array): Uint8Array | undefined {
    let rest: Uint8Array | undefined;
    try {
      rest = this.#framing.push(input, this.#enqueue);
    } catch (error) {
      this.fail(error);
      throw error;
    }
    if (this.#framing.complete) this.#finish();
    return rest;
  }

  /** The connection ended before the body did. */
  fail(reason: unknown): void {
    if (this.complete) return;
    this.complete = true;
    try {
      this.#controller.error(reason);
    } catch {
      // Already cancelled by the consumer.
    }
  }

  #take(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    try {
      this.#controller.enqueue(data);
    } catch {
      return; // cancelled: the bytes are dropped, the connection closes after the response
    }
    if ((this.#controller.desiredSize ?? 0) <= 0) this.#hooks.pause();
  }

  #finish(): void {
    this.complete = true;
    try {
      this.#controller.close();
    } catch {
      // Cancelled by the consumer.
    }
  }
}

/**
 * A request body the byte relay takes: decoded bytes handed straight to its upload, no stream. The
 * relay pauses and resumes the socket itself (RelayBody); a connection that ends first aborts the
 * relay, which is told separately.
 */
export class RelayedBody implements ReceivingBody {
  complete = false;
  readonly #framing: BodyFraming;
  readonly #push: (data: Uint8Array) => void;

  constructor(
    framing: Exclude<Framing, { kind: "none" }>,
    private readonly upload: RelayUpload,
  ) {
    this.#framing = new BodyFraming(framing);
    this.#push = (data) => upload.push(data);
  }

  push(input: Uint8Array): Uint8Array | undefined {
    let rest: Uint8Array | undefined;
    try {
      rest = this.#framing.push(input, this.#push);
    } catch (error) {
      this.complete = true;
      this.upload.broken();
      throw error;
    }
    if (this.#framing.complete && !this.complete) {
      this.complete = true;
      this.upload.end();
    }
    return rest;
  }

  fail(): void {
    this.complete = true;
  }
}

import { ChunkedDecoder } from "./chunked.ts";
import type { Framing } from "./head.ts";

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

/**
 * A request body being received: bytes go in with `push`, the handler reads `stream`. Framing
 * (RFC 9112 §6.3) decides where it ends; bytes after that end belong to the next request.
 */
export class IncomingBody {
  readonly stream: ReadableStream<Uint8Array>;
  complete = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #remaining: number;
  readonly #chunked: ChunkedDecoder | undefined;
  readonly #hooks: BodyHooks;

  constructor(framing: Exclude<Framing, { kind: "none" }>, hooks: BodyHooks) {
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#chunked = framing.kind === "chunked" ? new ChunkedDecoder() : undefined;
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
    if (this.#chunked !== undefined) {
      try {
        rest = this.#chunked.push(input, (data) => this.#enqueue(data));
      } catch (error) {
        this.fail(error);
        throw error;
      }
      if (this.#chunked.done) this.#finish();
    } else {
      const take = Math.min(this.#remaining, input.length);
      this.#enqueue(input.subarray(0, take));
      this.#remaining -= take;
      if (take < input.length) rest = input.subarray(take);
      if (this.#remaining === 0) this.#finish();
    }
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

  #enqueue(data: Uint8Array): void {
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

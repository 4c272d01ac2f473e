/**
 * The content of one upstream response as a pull-based stream. Bytes are decoded per the framing
 * (RFC 9112 §6.3, chunked via the agent port's strict decoder) and handed on untouched otherwise:
 * no content coding is undone. Back-pressure reaches the socket: once the consumer has a read in
 * hand and is not asking for more, the socket is paused, so at most about one socket read waits.
 */

import { ChunkedDecoder, ChunkedError } from "../agent/http1/chunked.ts";
import { UpstreamProtocolError } from "./errors.ts";
import type { BodyFraming } from "./response-head.ts";

/** What the body needs of the connection it is read from. */
export interface Flow {
  pause(): void;
  resume(): void;
}

/** `more`: the body continues; `done`: it ended with the bytes given; `extra`: bytes followed its end. */
export type PushResult = "more" | "done" | "extra";

export class ResponseBody {
  readonly stream: ReadableStream<Uint8Array>;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #open = true;
  #remaining: number;
  readonly #decoder: ChunkedDecoder | undefined;
  #emitted = false;
  readonly #emit = (data: Uint8Array) => {
    this.#emitted = true;
    this.#controller?.enqueue(data);
  };

  constructor(
    private readonly framing: Exclude<BodyFraming, { kind: "none" }>,
    private readonly flow: Flow,
    onCancel: () => void,
  ) {
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder() : undefined;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.flow.resume(),
        cancel: () => {
          this.#open = false;
          onCancel();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Feeds bytes read from the socket. Throws UpstreamProtocolError on malformed chunked framing. */
  push(bytes: Uint8Array): PushResult {
    if (!this.#open) return "more";
    this.#emitted = false;
    const result = this.#decode(bytes);
    if (result !== "more") this.#close();
    // Only data counts: bytes that were all framing leave a pending read unanswered, and pausing
    // then would wait for a pull that never comes.
    else if (this.#emitted && (this.#controller?.desiredSize ?? 0) <= 0) this.flow.pause();
    return result;
  }

  /** The connection ended; true if that ends the body (close-delimited, clean FIN), else it is truncated. */
  end(clean: boolean): boolean {
    if (this.framing.kind !== "close" || !clean) return false;
    this.#close();
    return true;
  }

  error(reason: Error): void {
    if (!this.#open) return;
    this.#open = false;
    this.#controller?.error(reason);
  }

  #decode(bytes: Uint8Array): PushResult {
    if (this.framing.kind === "close") {
      this.#emit(bytes);
      return "more";
    }
    if (this.#decoder !== undefined) return this.#decodeChunked(this.#decoder, bytes);
    const take = Math.min(this.#remaining, bytes.byteLength);
    this.#emit(take === bytes.byteLength ? bytes : bytes.subarray(0, take));
    this.#remaining -= take;
    if (this.#remaining > 0) return "more";
    return take < bytes.byteLength ? "extra" : "done";
  }

  #decodeChunked(decoder: ChunkedDecoder, bytes: Uint8Array): PushResult {
    let rest: Uint8Array | undefined;
    try {
      rest = decoder.push(bytes, this.#emit);
    } catch (error) {
      if (!(error instanceof ChunkedError)) throw error;
      throw new UpstreamProtocolError(`upstream client: bad chunked response body (${error.message})`);
    }
    if (!decoder.done) return "more";
    return rest !== undefined && rest.byteLength > 0 ? "extra" : "done";
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#controller?.close();
  }
}

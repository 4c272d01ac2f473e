/**
 * The content of one upstream response the relay hands over as a Response (../relay-decoded.ts: a
 * compressed answer to decode and scrub). Bytes are decoded per the framing (RFC 9112 §6.3, chunked
 * via the agent port's strict decoder) and handed on untouched otherwise: no content coding is
 * undone here. Bytes arriving before the stream exists are held and handed to it on start. The body
 * is a pull-based stream whose back-pressure reaches the socket: once the consumer has a read in
 * hand and is not asking for more, the socket is paused, so at most about one socket read waits.
 */

import { type BodyDecoder, bodyDecoder, type PushResult } from "./body-decoder.ts";
import type { BodyFraming } from "./response-head.ts";

export type { PushResult } from "./body-decoder.ts";

/** What the body needs of the connection it is read from and of the exchange it belongs to. */
export interface Flow {
  pause(): void;
  resume(): void;
  /** The consumer cancelled the stream. */
  cancelled(): void;
}

export class ResponseBody {
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Data decoded before the stream existed; handed to it on start. */
  #held: Uint8Array[] | undefined = [];
  #open = true;
  /** Why the body failed before a stream existed to tell. */
  #failure: Error | undefined;
  readonly #decoder: BodyDecoder;
  #emitted = false;

  constructor(
    framing: Exclude<BodyFraming, { kind: "none" }>,
    private readonly flow: Flow,
  ) {
    this.#decoder = bodyDecoder(framing);
  }

  /** The body as a stream, starting with whatever was held. Called at most once. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          const held = this.#held ?? [];
          this.#held = undefined;
          for (const data of held) controller.enqueue(data);
          // Ended (or failed) before anyone asked for a stream.
          if (this.#failure !== undefined) controller.error(this.#failure);
          else if (!this.#open) controller.close();
        },
        pull: () => this.flow.resume(),
        cancel: () => {
          this.#open = false;
          this.flow.cancelled();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Feeds bytes read from the socket. Throws UpstreamProtocolError on malformed chunked framing. */
  push(bytes: Uint8Array): PushResult {
    if (!this.#open) return "more";
    this.#emitted = false;
    const result = this.#decoder.push(bytes, this.#emit);
    if (result !== "more") this.#close();
    // Only data counts: bytes that were all framing leave a pending read unanswered, and pausing
    // then would wait for a pull that never comes. Held data waits for a reader too.
    else if (this.#emitted && (this.#controller?.desiredSize ?? 0) <= 0) this.flow.pause();
    return result;
  }

  /** The connection ended; true if that ends the body (close-delimited, clean FIN), else it is truncated. */
  end(clean: boolean): boolean {
    if (!this.#decoder.closed(clean)) return false;
    this.#close();
    return true;
  }

  error(reason: Error): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.#controller === undefined) this.#failure = reason;
    else this.#controller.error(reason);
  }

  readonly #emit = (data: Uint8Array): void => {
    this.#emitted = true;
    if (this.#held !== undefined) this.#held.push(data);
    else this.#controller?.enqueue(data);
  };

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#controller?.close();
  }
}

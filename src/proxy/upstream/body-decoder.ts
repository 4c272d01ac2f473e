/**
 * Where an upstream response's content ends (RFC 9112 §6.3) and what its data bytes are: a
 * Content-Length counted down, chunked decoded by the agent port's strict decoder, or everything
 * until a clean close. Bytes are handed on untouched otherwise: no content coding is undone.
 */
import { ChunkedDecoder, ChunkedError } from "../../agent-port/http1/chunked.ts";
import { UpstreamProtocolError } from "./errors.ts";
import type { BodyFraming } from "./response-head.ts";

/** `more`: the body continues; `done`: it ended with the bytes given; `extra`: bytes followed its end. */
export type PushResult = "more" | "done" | "extra";

export interface BodyDecoder {
  /** Feeds bytes read from the socket; `emit` gets the data. Throws UpstreamProtocolError on bad chunking. */
  push(bytes: Uint8Array, emit: (data: Uint8Array) => void): PushResult;
  /** The connection closed: true if that ends the body (close-delimited, clean FIN), else it is truncated. */
  closed(clean: boolean): boolean;
}

export function bodyDecoder(framing: Exclude<BodyFraming, { kind: "none" }>): BodyDecoder {
  if (framing.kind === "length") return new LengthDecoder(framing.length);
  if (framing.kind === "chunked") return new ChunkedBody();
  return CLOSE_DELIMITED;
}

class LengthDecoder implements BodyDecoder {
  constructor(private remaining: number) {}

  push(bytes: Uint8Array, emit: (data: Uint8Array) => void): PushResult {
    const take = Math.min(this.remaining, bytes.byteLength);
    if (take > 0) emit(take === bytes.byteLength ? bytes : bytes.subarray(0, take));
    this.remaining -= take;
    if (this.remaining > 0) return "more";
    return take < bytes.byteLength ? "extra" : "done";
  }

  closed(): boolean {
    return false;
  }
}

class ChunkedBody implements BodyDecoder {
  readonly #decoder = new ChunkedDecoder();

  push(bytes: Uint8Array, emit: (data: Uint8Array) => void): PushResult {
    let rest: Uint8Array | undefined;
    try {
      rest = this.#decoder.push(bytes, emit);
    } catch (error) {
      if (!(error instanceof ChunkedError)) throw error;
      throw new UpstreamProtocolError(`upstream client: bad chunked response body (${error.message})`);
    }
    if (!this.#decoder.done) return "more";
    return rest !== undefined && rest.byteLength > 0 ? "extra" : "done";
  }

  closed(): boolean {
    return false;
  }
}

/** Stateless, so one serves every close-delimited body. */
const CLOSE_DELIMITED: BodyDecoder = {
  push(bytes, emit) {
    emit(bytes);
    return "more";
  },
  closed: (clean) => clean,
};

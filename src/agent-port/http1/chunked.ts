/**
 * Incremental decoder for the chunked transfer coding (RFC 9112 §7.1). Strict: hex sizes only,
 * CRLF exactly where the grammar puts it, bounded line lengths, trailer fields syntax-checked and
 * dropped (§7.1.2: nothing here uses them, and forwarding them would be a second header section
 * nobody checked). Any deviation throws: the body cannot be delimited, so the connection must close.
 */

/** Longest chunk-size line (size + extensions) and trailer line we accept. */
const MAX_LINE = 4096;
/** Hex digits in a chunk size: 13 keeps it below 2^53. */
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/;
const TRAILER_FIELD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
/** Total trailer bytes. */
const MAX_TRAILERS = 16 * 1024;

export class ChunkedError extends Error {}

type State = "size" | "data" | "data-crlf" | "trailer" | "done";

export class ChunkedDecoder {
  #state: State = "size";
  #remaining = 0;
  #line = "";
  #trailerBytes = 0;

  get done(): boolean {
    return this.#state === "done";
  }

  /**
   * Feeds bytes; `emit` gets body data (views into `input`). Returns the bytes of `input` not consumed
   * (those after the final CRLF: the next pipelined request), or undefined if all were consumed.
   */
  push(input: Uint8Array, emit: (data: Uint8Array) => void): Uint8Array | undefined {
    let offset = 0;
    while (offset < input.length) {
      if (this.#state === "done") return input.subarray(offset);
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, input.length - offset);
        emit(input.subarray(offset, offset + take));
        offset += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = "data-crlf";
        continue;
      }
      offset = this.#readLine(input, offset);
    }
    return undefined;
  }

  /** Accumulates one CRLF-terminated line and acts on it; returns the new offset. */
  #readLine(input: Uint8Array, offset: number): number {
    const lf = input.indexOf(0x0a, offset);
    const end = lf < 0 ? input.length : lf + 1;
    this.#line += Buffer.from(input.buffer, input.byteOffset + offset, end - offset).toString("latin1");
    if (this.#line.length > MAX_LINE) throw new ChunkedError("chunk line too long");
    if (lf < 0) return end;
    if (!this.#line.endsWith("\r\n")) throw new ChunkedError("bare LF in chunked framing");
    const line = this.#line.slice(0, -2);
    this.#line = "";
    if (line.includes("\r")) throw new ChunkedError("bare CR in chunked framing");
    this.#onLine(line);
    return end;
  }

  #onLine(line: string): void {
    if (this.#state === "data-crlf") {
      if (line !== "") throw new ChunkedError("chunk data longer than its size");
      this.#state = "size";
    } else if (this.#state === "size") {
      const match = CHUNK_SIZE.exec(line);
      if (match?.[1] === undefined) throw new ChunkedError("malformed chunk size");
      this.#remaining = Number.parseInt(match[1], 16);
      this.#state = this.#remaining === 0 ? "trailer" : "data";
    } else if (this.#state === "trailer") {
      if (line === "") {
        this.#state = "done";
        return;
      }
      this.#trailerBytes += line.length;
      if (this.#trailerBytes > MAX_TRAILERS || !TRAILER_FIELD.test(line))
        throw new ChunkedError("malformed or oversized trailer section");
    }
  }
}

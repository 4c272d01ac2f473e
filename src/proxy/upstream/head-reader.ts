/**
 * Collects a response head from socket reads: everything up to the first CRLF CRLF, bounded in size.
 * Line ends are CRLF only: RFC 9112 §2.2 lets a recipient accept a bare LF, and refusing it here is
 * what keeps us from reading a head differently from an intermediary that does not.
 */

import { UpstreamProtocolError } from "./errors.ts";

export interface CompleteHead {
  /** The head, latin1-decoded, without its final empty line. */
  text: string;
  /** Bytes that followed the head in the same reads: the start of the body (or the next head). */
  rest: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
/** A Buffer, not a string: indexOf would encode a string argument on every call. */
const END_OF_HEAD = Buffer.from("\r\n\r\n", "latin1");

export class HeadReader {
  #buffered: Buffer | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Throws UpstreamProtocolError on a bare LF or a head over `maxBytes`. */
  push(bytes: Buffer): CompleteHead | undefined {
    const previous = this.#buffered;
    const buffer = previous === undefined ? bytes : Buffer.concat([previous, bytes]);
    const from = previous === undefined ? 0 : previous.length;
    const end = buffer.indexOf(END_OF_HEAD, Math.max(0, from - 3));
    // A complete head is not searched here: the parser refuses a LF anywhere in it (status line,
    // names and values exclude it, ./response-head.ts). An incomplete one is, so that a head ended
    // by bare LFs is refused at once rather than waited for.
    if (end < 0) checkLineEnds(buffer, from, buffer.length);
    if (end < 0 || end + 4 > this.maxBytes) {
      if (buffer.length > this.maxBytes || end >= 0)
        throw new UpstreamProtocolError("upstream client: the response head is too large");
      this.#buffered = buffer;
      return undefined;
    }
    this.#buffered = undefined;
    return { text: buffer.toString("latin1", 0, end), rest: buffer.subarray(end + 4) };
  }

  /** Whether a head is partly read: a close now truncates it rather than preceding it. */
  get started(): boolean {
    return this.#buffered !== undefined;
  }
}

/** Refuses a LF not preceded by CR in `buffer[from, to)` (body bytes after the head are not looked at). */
function checkLineEnds(buffer: Buffer, from: number, to: number): void {
  for (let lf = buffer.indexOf(LF, from); lf >= 0 && lf < to; lf = buffer.indexOf(LF, lf + 1)) {
    if (lf === 0 || buffer[lf - 1] !== CR)
      throw new UpstreamProtocolError("upstream client: bare LF in the response head");
  }
}

/**
 * A strict HTTP/1.1 request-head parser (RFC 9112). Anything a second parser (node:http, an upstream,
 * a load balancer) could read differently is refused instead of repaired: that difference is what
 * request smuggling exploits. What the request *means* (target form, methods, Host count, the
 * Authorization header) is left to the handler, which owns those rules and their error codes.
 */

import { FIELD_NAME, FIELD_NAME_RUN, FIELD_VALUE } from "../../core/http/fields.ts";

export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export interface RequestHead {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  /** Frozen: a connection's heads with identical field lines share it (HeadParser). */
  rawHeaders: ReadonlyArray<readonly [string, string]>;
  framing: Framing;
  /** Whether the connection may carry another request after this one (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** `Expect: 100-continue` (RFC 9110 §10.1.1). */
  expectContinue: boolean;
}

/** A head we refuse: the status to answer with before closing (RFC 9112 §2.2 "respond and close"). */
export class HeadError extends Error {
  constructor(
    readonly status: 400 | 417 | 431 | 501 | 505,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 9110 §8.6: 1*DIGIT; 15 digits keeps the number exact in a double. */
const DECIMAL = /^\d{1,15}$/;

/** Fields per request head; node:http's default is 2000, no sane client needs more than a few dozen. */
export const MAX_FIELDS = 256;

/** What a head's field lines say, at one HTTP version: the part a keep-alive agent repeats. */
interface Fields extends Semantics {
  rawHeaders: ReadonlyArray<readonly [string, string]>;
}

/**
 * Parses a complete head (`text` ends just before the empty line), decoded as latin1 so every byte
 * maps to one character. Throws HeadError.
 */
export function parseHead(text: string): RequestHead {
  return new HeadParser().parse(text);
}

/**
 * The heads of one connection. A keep-alive agent sends the same field lines with every request
 * (its credential, user agent, accept…): when a head's field block is byte for byte the previous
 * one's, at the same HTTP version, its parsed fields are reused — the same frozen `rawHeaders`
 * array, so the proxy can key its own per-block work on it (src/proxy/relay-plan.ts). Only the
 * request line is parsed again. Reusing is exact: the same bytes always parse to the same fields.
 */
export class HeadParser {
  #block: string | undefined;
  #minor: 0 | 1 = 1;
  #fields: Fields | undefined;

  parse(text: string): RequestHead {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    let start = 0;
    while (text.startsWith("\r\n", start)) start += 2;
    const lineEnd = text.indexOf("\r\n", start);
    const { method, target, minor } = requestLine(text, start, lineEnd < 0 ? text.length : lineEnd);
    const blockStart = lineEnd < 0 ? text.length : lineEnd + 2;
    let fields = this.#fields;
    if (fields === undefined || minor !== this.#minor || !this.#sameBlock(text, blockStart)) {
      const block = text.slice(blockStart);
      fields = parseFields(lineEnd < 0 ? [] : block.split("\r\n"), minor);
      this.#fields = fields;
      this.#block = block;
      this.#minor = minor;
    }
    const { rawHeaders, framing, keepAlive, expectContinue } = fields;
    return { method, target, minor, rawHeaders, framing, keepAlive, expectContinue };
  }

  /** The field block from `start` to the end is the previous one's, compared in place (no copy). */
  #sameBlock(text: string, start: number): boolean {
    const block = this.#block;
    return block !== undefined && text.length - start === block.length && text.startsWith(block, start);
  }
}

/** RFC 9112 §3.2: the target is any run of visible ASCII; which forms are acceptable is the router's. */
const TARGET = /[\x21-\x7e]+ /y;
/** The usual methods as shared constants: no copy of them per request. */
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/**
 * RFC 9112 §3: method SP request-target SP HTTP-version, single spaces, nothing else, between
 * `start` and `end` of `text`. Throws HeadError: 400 for any other shape, 505 for another version.
 */
function requestLine(text: string, start: number, end: number) {
  // RFC 9110 §9.1: the method is a token, checked in place (sticky): no copy of the line is made.
  FIELD_NAME_RUN.lastIndex = start;
  if (
    !FIELD_NAME_RUN.test(text) ||
    FIELD_NAME_RUN.lastIndex >= end ||
    text.charCodeAt(FIELD_NAME_RUN.lastIndex) !== SP
  )
    throw new HeadError(400, "malformed request line");
  const targetStart = FIELD_NAME_RUN.lastIndex + 1;
  TARGET.lastIndex = targetStart;
  if (!TARGET.test(text) || TARGET.lastIndex > end) throw new HeadError(400, "malformed request line");
  const versionStart = TARGET.lastIndex;
  if (end - versionStart !== 8 || !isVersionAt(text, versionStart))
    throw new HeadError(400, "malformed request line");
  const major = text.charCodeAt(versionStart + 5);
  const minorCode = text.charCodeAt(versionStart + 7);
  if (major !== ONE || (minorCode !== ZERO && minorCode !== ONE))
    throw new HeadError(505, "only HTTP/1.0 and HTTP/1.1 are served");
  const minor: 0 | 1 = minorCode === ZERO ? 0 : 1;
  return {
    method: methodAt(text, start, targetStart - 1),
    target: text.slice(targetStart, versionStart - 1),
    minor,
  };
}

const SP = 0x20;
const ZERO = 0x30;
const ONE = 0x31;

/** `HTTP/<digit>.<digit>` at `at` (the caller checked that it is all that is left of the line). */
function isVersionAt(text: string, at: number): boolean {
  return (
    text.startsWith("HTTP/", at) &&
    isDigit(text.charCodeAt(at + 5)) &&
    text.charCodeAt(at + 6) === 0x2e &&
    isDigit(text.charCodeAt(at + 7))
  );
}

const isDigit = (code: number) => code >= ZERO && code <= ZERO + 9;

function methodAt(text: string, start: number, end: number): string {
  for (const known of METHODS)
    if (known.length === end - start && text.startsWith(known, start)) return known;
  return text.slice(start, end);
}

function parseFields(lines: readonly string[], minor: 0 | 1): Fields {
  if (lines.length > MAX_FIELDS) throw new HeadError(431, "too many header fields");
  const rawHeaders = lines.map(parseField);
  const meaning = semantics(rawHeaders, minor);
  Object.freeze(meaning.framing);
  return { rawHeaders: Object.freeze(rawHeaders), ...meaning };
}

function parseField(line: string): readonly [string, string] {
  // RFC 9112 §5.2: obs-fold is refused (400) rather than unfolded.
  if (line.startsWith(" ") || line.startsWith("\t")) throw new HeadError(400, "obsolete line folding");
  // RFC 9112 §2.2: a bare CR or LF (one not part of CRLF) is refused, never taken as a line end.
  if (line.includes("\r") || line.includes("\n")) throw new HeadError(400, "bare CR or LF");
  const colon = line.indexOf(":");
  const name = colon < 0 ? "" : line.slice(0, colon);
  // RFC 9112 §5.1: whitespace between name and colon MUST be refused; the token check covers it.
  if (!FIELD_NAME.test(name)) throw new HeadError(400, "malformed header field name");
  // RFC 9112 §5.1: OWS around the value is not part of it.
  const value = withoutOws(line, colon + 1);
  if (!FIELD_VALUE.test(value)) throw new HeadError(400, "control character in a header field value");
  return Object.freeze([name, value] as const);
}

/** `line` from `start` minus leading and trailing spaces and tabs (a regex scans long values twice). */
function withoutOws(line: string, start: number): string {
  let from = start;
  let to = line.length;
  while (from < to && isOws(line.charCodeAt(from))) from += 1;
  while (to > from && isOws(line.charCodeAt(to - 1))) to -= 1;
  return line.slice(from, to);
}

const isOws = (code: number) => code === 0x20 || code === 0x09;

interface Semantics {
  framing: Framing;
  keepAlive: boolean;
  expectContinue: boolean;
}

function semantics(rawHeaders: ReadonlyArray<readonly [string, string]>, minor: 0 | 1): Semantics {
  const lengths: string[] = [];
  const codings: string[] = [];
  const connection: string[] = [];
  const expect: string[] = [];
  for (const [name, value] of rawHeaders) {
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      const items = list(value);
      if (items.length === 0) throw new HeadError(400, "empty Content-Length");
      lengths.push(...items);
    } else if (lower === "transfer-encoding") codings.push(...list(value));
    else if (lower === "connection") connection.push(...list(value));
    else if (lower === "expect") expect.push(value.toLowerCase());
  }
  const keepAlive = minor === 1 ? !connection.includes("close") : connection.includes("keep-alive");
  if (expect.length > 1 || (expect.length === 1 && expect[0] !== "100-continue"))
    throw new HeadError(417, "unsupported expectation");
  return { framing: framing(lengths, codings, minor), keepAlive, expectContinue: expect.length === 1 };
}

/** RFC 9112 §6.1–6.3: exactly one reading of where the body ends, or a refusal. */
function framing(lengths: string[], codings: string[], minor: 0 | 1): Framing {
  if (codings.length > 0) {
    // §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
    if (minor === 0) throw new HeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
    // §6.1: CL and TE together is how smuggling starts; refused instead of "TE wins".
    if (lengths.length > 0) throw new HeadError(400, "both Content-Length and Transfer-Encoding");
    // §6.3: chunked must be the final coding; we decode no other coding (§6.1: 501).
    if (codings[codings.length - 1] !== "chunked")
      throw new HeadError(400, "chunked is not the final coding");
    if (codings.length > 1) throw new HeadError(501, "unsupported transfer coding");
    return { kind: "chunked" };
  }
  if (lengths.length === 0) return { kind: "none" };
  // §6.3: differing Content-Length values (in one list or several fields) are unrecoverable.
  const [length] = lengths;
  if (length === undefined || lengths.some((l) => l !== length) || !DECIMAL.test(length))
    throw new HeadError(400, "invalid or conflicting Content-Length");
  const n = Number(length);
  return n === 0 ? { kind: "none" } : { kind: "length", length: n };
}

/** RFC 9110 §5.6.1 lists: comma-separated, OWS around items, empty items ignored; lower-cased. */
function list(value: string): string[] {
  const items: string[] = [];
  for (const item of value.split(",")) {
    const trimmed = item.trim().toLowerCase();
    if (trimmed !== "") items.push(trimmed);
  }
  return items;
}

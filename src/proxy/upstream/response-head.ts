/**
 * A strict HTTP/1.1 response-head parser (RFC 9112). An upstream answer we could read two ways is
 * refused rather than repaired: the proxy forwards what we parse, and a different reading of where
 * a response ends is how a response queue gets desynchronised (response splitting/smuggling).
 */

import { STATUS_CODES } from "node:http";
import { FIELD_NAME_RUN, FIELD_VALUE_RUN } from "../../core/http/fields.ts";
import { UpstreamProtocolError } from "./errors.ts";

export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  status: number;
  reason: string;
  /**
   * Every field line in order, duplicates kept (Set-Cookie). Names are lower-cased here, once: they
   * are case-insensitive (RFC 9110 §5.1) and every reader of them compares or writes them so.
   */
  fields: Array<[string, string]>;
  /** Validated Content-Length, if any. */
  length: number | undefined;
  /** `length` as decimal text, to write on without formatting the number for every response. */
  lengthText: string | undefined;
  /** Transfer-Encoding is exactly `chunked`. */
  chunked: boolean;
  /** The upstream will keep the connection open after this response (RFC 9112 §9.3). */
  persistent: boolean;
}

/** Where the response content ends (RFC 9112 §6.3), `none` when it has no content at all. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** Field lines per head; the agent port's parser has the same cap. */
const MAX_FIELDS = 256;

const DECIMAL = /^\d{1,15}$/;

/** Parses a complete head: `text` (latin1) ends just before the empty line. Throws UpstreamProtocolError. */
export function parseResponseHead(text: string): ResponseHead {
  const eol = text.indexOf("\r\n");
  const { minor, status, reason } = statusLine(text, eol < 0 ? text.length : eol);
  const fields = parseFields(text, eol);
  const { length, lengthText, chunked, persistent } = semantics(fields, minor);
  return { minor, status, reason, fields, length, lengthText, chunked, persistent };
}

/**
 * RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase], read character by character (no match
 * array or captured copies per response). The SP before an empty reason is tolerated missing: the
 * status is unambiguous either way. Any other HTTP version is refused.
 */
function statusLine(text: string, end: number): { minor: 0 | 1; status: number; reason: string } {
  const minor = text.charCodeAt(7) - ZERO;
  const status = digit(text, 9, 1) * 100 + digit(text, 10, 0) * 10 + digit(text, 11, 0);
  const shape =
    end >= 12 &&
    text.startsWith("HTTP/1.") &&
    (minor === 0 || minor === 1) &&
    text.charCodeAt(8) === SP &&
    status >= 100 &&
    (end === 12 || (text.charCodeAt(12) === SP && reasonEndsAt(text, end)));
  if (!shape) throw new UpstreamProtocolError("upstream client: malformed status line");
  return { minor: minor as 0 | 1, status, reason: end <= 13 ? "" : reasonOf(text, status, end) };
}

const ZERO = 0x30;

/** The decimal digit at `at`, or -1000 (which no status survives) outside `min`..9. */
function digit(text: string, at: number, min: number): number {
  const value = text.charCodeAt(at) - ZERO;
  return value >= min && value <= 9 ? value : -1000;
}

/** RFC 9112 §4: the reason-phrase is HTAB, SP, VCHAR and obs-text, the field value's characters. */
function reasonEndsAt(text: string, end: number): boolean {
  FIELD_VALUE_RUN.lastIndex = 13;
  return FIELD_VALUE_RUN.test(text) && FIELD_VALUE_RUN.lastIndex === end;
}

/** The usual reason for the status is the shared constant, not a copy per response. */
function reasonOf(text: string, status: number, end: number): string {
  const usual = STATUS_CODES[status];
  if (usual !== undefined && usual.length === end - 13 && text.startsWith(usual, 13)) return usual;
  return text.slice(13, end);
}

/** The field lines after the status line (which ends at `eol`, -1 when there are none), in one pass. */
function parseFields(text: string, eol: number): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  if (eol < 0) return fields;
  if (countLines(text, eol) > MAX_FIELDS)
    throw new UpstreamProtocolError("upstream client: too many header fields");
  for (let start = eol + 2; ; ) {
    const end = text.indexOf("\r\n", start);
    fields.push(parseField(text, start, end < 0 ? text.length : end));
    if (end < 0) return fields;
    start = end + 2;
  }
}

/** Field lines after `eol`, counting stops past MAX_FIELDS: the cap is checked before any field is read. */
function countLines(text: string, eol: number): number {
  let count = 0;
  for (let at = eol; at >= 0 && count <= MAX_FIELDS; at = text.indexOf("\r\n", at + 2)) count += 1;
  return count;
}

const SP = 0x20;
const HTAB = 0x09;

/**
 * One field line, `text[start, end)`, checked in place: the name by its characters, the value as a
 * run of allowed ones (sticky patterns, ../../core/http/fields.ts), so neither is copied out to be
 * checked. The value is a slice the agent's head is later built from.
 */
function parseField(text: string, start: number, end: number): [string, string] {
  // RFC 9112 §5.2: obs-fold is refused, not unfolded (a proxy receiving it may reject or replace it).
  const first = text.charCodeAt(start);
  if (first === SP || first === HTAB)
    throw new UpstreamProtocolError("upstream client: obsolete line folding in the response head");
  const colon = text.indexOf(":", start);
  // RFC 9112 §5.1: no whitespace between name and colon; the token check covers it.
  FIELD_NAME_RUN.lastIndex = start;
  if (colon < 0 || colon > end || !FIELD_NAME_RUN.test(text) || FIELD_NAME_RUN.lastIndex !== colon)
    throw new UpstreamProtocolError("upstream client: malformed header field name");
  // Optional whitespace around the value is SP and HTAB only (RFC 9110 §5.6.3), not what trim() strips.
  let from = colon + 1;
  let to = end;
  while (from < to && isWhitespace(text.charCodeAt(from))) from += 1;
  while (to > from && isWhitespace(text.charCodeAt(to - 1))) to -= 1;
  // RFC 9110 §5.5: CR, LF, NUL and other controls are never part of a value (bare CR included).
  FIELD_VALUE_RUN.lastIndex = from;
  if (!FIELD_VALUE_RUN.test(text) || FIELD_VALUE_RUN.lastIndex < to)
    throw new UpstreamProtocolError("upstream client: control character in a header field value");
  return [lowerName(text, start, colon), text.slice(from, to)];
}

function isWhitespace(code: number): boolean {
  return code === SP || code === HTAB;
}

/**
 * Lower-cased names, found by a hash of their lower-cased characters and checked character by
 * character: an upstream sends the same few dozen names in every answer, so `Content-Type` is
 * neither copied out nor lower-cased again per response. A collision only costs a recomputation.
 * Bounded (names come from upstreams), emptied when full.
 */
const lowerNames = new Map<number, string>();
const MAX_LOWER_NAMES = 512;

function lowerName(text: string, start: number, end: number): string {
  let hash = end - start;
  for (let at = start; at < end; at += 1) hash = (Math.imul(hash, 31) + lowerCode(text, at)) | 0;
  const known = lowerNames.get(hash);
  if (known !== undefined && sameLowerCase(text, start, end, known)) return known;
  const lower = text.slice(start, end).toLowerCase();
  if (lowerNames.size >= MAX_LOWER_NAMES) lowerNames.clear();
  lowerNames.set(hash, lower);
  return lower;
}

/** The character code at `at`, ASCII upper case folded to lower (names are tokens: ASCII only). */
function lowerCode(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
}

function sameLowerCase(text: string, start: number, end: number, lower: string): boolean {
  if (lower.length !== end - start) return false;
  for (let at = 0; at < lower.length; at += 1)
    if (lowerCode(text, start + at) !== lower.charCodeAt(at)) return false;
  return true;
}

function semantics(fields: ReadonlyArray<readonly [string, string]>, minor: 0 | 1) {
  const lengths: string[] = [];
  const codings: string[] = [];
  const connection: string[] = [];
  let chunked = false;
  for (const [name, value] of fields) {
    // Content-Length items are not lower-cased: anything but digits is refused whatever its case.
    if (name === "content-length") addItems(lengths, value, true, false);
    else if (name === "connection") addItems(connection, value);
    else if (name === "transfer-encoding") {
      // Even an empty Transfer-Encoding counts: another parser may let its presence override Content-Length.
      chunked = true;
      addItems(codings, value);
    }
  }
  // §6.1: TE in an HTTP/1.0 message, and TE with Content-Length, are faulty framing ("MUST close").
  if (chunked && (minor === 0 || lengths.length > 0))
    throw new UpstreamProtocolError("upstream client: Transfer-Encoding with Content-Length or in HTTP/1.0");
  // §6.1/§7: chunked is the only coding we decode, and it must be the only one applied.
  if (chunked && (codings.length !== 1 || codings[0] !== "chunked"))
    throw new UpstreamProtocolError("upstream client: unsupported transfer coding");
  const lengthText = contentLength(lengths);
  return {
    length: lengthText === undefined ? undefined : Number(lengthText),
    // Leading zeros are not passed on: the length is written as the number it is.
    lengthText:
      lengthText === undefined || !lengthText.startsWith("0") ? lengthText : String(Number(lengthText)),
    chunked,
    persistent: minor === 1 && !connection.includes("close"),
  };
}

/** §6.3 item 5: several Content-Length values are acceptable only if they are all the same number. */
function contentLength(lengths: string[]): string | undefined {
  const [first] = lengths;
  if (first === undefined) return undefined;
  if (!DECIMAL.test(first) || lengths.some((length) => length !== first))
    throw new UpstreamProtocolError("upstream client: invalid or conflicting Content-Length");
  return first;
}

/** RFC 9110 §5.6.1 list items, lower-cased unless told; Content-Length keeps empty items so `1,,1` and `` are refused. */
function addItems(into: string[], value: string, keepEmpty = false, lower = true): void {
  for (const item of value.indexOf(",") < 0 ? [value] : value.split(",")) {
    const trimmed = lower ? item.trim().toLowerCase() : item.trim();
    if (trimmed !== "" || keepEmpty) into.push(trimmed);
  }
}

/** RFC 9112 §6.3: a HEAD response, 1xx, 204 and 304 end at the head, whatever their fields say. */
export function bodyFraming(head: ResponseHead, isHeadRequest: boolean): BodyFraming {
  if (isHeadRequest || head.status < 200 || head.status === 204 || head.status === 304)
    return { kind: "none" };
  if (head.chunked) return { kind: "chunked" };
  if (head.length === 0) return { kind: "none" };
  if (head.length !== undefined) return { kind: "length", length: head.length };
  return { kind: "close" };
}

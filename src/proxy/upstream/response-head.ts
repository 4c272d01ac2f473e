/**
 * A strict HTTP/1.1 response-head parser (RFC 9112). An upstream answer we could read two ways is
 * refused rather than repaired: the proxy forwards what we parse, and a different reading of where
 * a response ends is how a response queue gets desynchronised (response splitting/smuggling).
 */

import { FIELD_NAME, FIELD_VALUE } from "../../core/http/fields.ts";
import { UpstreamProtocolError } from "./errors.ts";

export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  status: number;
  reason: string;
  /** Every field line in order, names as received; duplicates kept (Set-Cookie). */
  fields: Array<[string, string]>;
  /** Validated Content-Length, if any. */
  length: number | undefined;
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

/**
 * RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase]. The SP before an empty reason is
 * tolerated missing: the status is unambiguous either way. Any other HTTP version is refused.
 */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const DECIMAL = /^\d{1,15}$/;

/** Parses a complete head: `text` (latin1) ends just before the empty line. Throws UpstreamProtocolError. */
export function parseResponseHead(text: string): ResponseHead {
  const eol = text.indexOf("\r\n");
  const match = STATUS_LINE.exec(eol < 0 ? text : text.slice(0, eol));
  if (match === null) throw new UpstreamProtocolError("upstream client: malformed status line");
  const minor = match[1] === "0" ? 0 : 1;
  const fields = parseFields(text, eol);
  const { length, chunked, persistent } = semantics(fields, minor);
  return { minor, status: Number(match[2]), reason: match[3] ?? "", fields, length, chunked, persistent };
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

function parseField(text: string, start: number, end: number): [string, string] {
  // RFC 9112 §5.2: obs-fold is refused, not unfolded (a proxy receiving it may reject or replace it).
  const first = text.charCodeAt(start);
  if (first === SP || first === HTAB)
    throw new UpstreamProtocolError("upstream client: obsolete line folding in the response head");
  const colon = text.indexOf(":", start);
  const name = colon < 0 || colon > end ? "" : text.slice(start, colon);
  // RFC 9112 §5.1: no whitespace between name and colon; the token check covers it.
  if (!FIELD_NAME.test(name)) throw new UpstreamProtocolError("upstream client: malformed header field name");
  // Optional whitespace around the value is SP and HTAB only (RFC 9110 §5.6.3), not what trim() strips.
  let from = colon + 1;
  let to = end;
  while (from < to && isWhitespace(text.charCodeAt(from))) from += 1;
  while (to > from && isWhitespace(text.charCodeAt(to - 1))) to -= 1;
  const value = text.slice(from, to);
  // RFC 9110 §5.5: CR, LF, NUL and other controls are never part of a value (bare CR included).
  if (!FIELD_VALUE.test(value))
    throw new UpstreamProtocolError("upstream client: control character in a header field value");
  return [name, value];
}

function isWhitespace(code: number): boolean {
  return code === SP || code === HTAB;
}

const FRAMING_NAME = /^(?:content-length|connection|transfer-encoding)$/i;

/**
 * The lower-cased name of a field the framing depends on, else undefined. Most fields are ruled out
 * by their length alone (Connection 10, Content-Length 14, Transfer-Encoding 17): neither the
 * pattern nor a lower-cased copy is needed for them.
 */
function framingName(name: string): string | undefined {
  const { length } = name;
  if (length !== 10 && length !== 14 && length !== 17) return undefined;
  return FRAMING_NAME.test(name) ? name.toLowerCase() : undefined;
}

function semantics(fields: ReadonlyArray<readonly [string, string]>, minor: 0 | 1) {
  const lengths: string[] = [];
  const codings: string[] = [];
  const connection: string[] = [];
  let chunked = false;
  for (const [name, value] of fields) {
    const lower = framingName(name);
    if (lower === undefined) continue;
    // Content-Length items are not lower-cased: anything but digits is refused whatever its case.
    if (lower === "content-length") addItems(lengths, value, true, false);
    else if (lower === "connection") addItems(connection, value);
    else if (lower === "transfer-encoding") {
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
  return {
    length: contentLength(lengths),
    chunked,
    persistent: minor === 1 && !connection.includes("close"),
  };
}

/** §6.3 item 5: several Content-Length values are acceptable only if they are all the same number. */
function contentLength(lengths: string[]): number | undefined {
  const [first] = lengths;
  if (first === undefined) return undefined;
  if (!DECIMAL.test(first) || lengths.some((length) => length !== first))
    throw new UpstreamProtocolError("upstream client: invalid or conflicting Content-Length");
  return Number(first);
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

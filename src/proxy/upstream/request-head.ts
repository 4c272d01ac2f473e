/**
 * Serialises a request head for an upstream. Nothing the caller passes can add a line: every name
 * and value is checked against the field grammar, and the fields that decide framing and connection
 * handling (Host, Content-Length, Transfer-Encoding, Connection and the other hop-by-hop fields) are
 * written only by this module, so the upstream reads exactly the message boundaries we meant.
 */

import { FIELD_NAME, FIELD_VALUE, HOP_BY_HOP } from "../../core/http/fields.ts";
import { UpstreamRequestError } from "./errors.ts";
import type { Target } from "./target.ts";

/** How the body after the head is delimited (RFC 9112 §6.1–6.2). */
export type RequestFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export interface RequestHead {
  /** The method as sent. */
  method: string;
  /**
   * What to write. Every character was checked to be one byte (RFC 9110 §5.5 obs-text included):
   * an all-ASCII head stays a string (its UTF-8, which the socket writes, is the same bytes, and no
   * buffer is allocated); one with obs-text is encoded as Latin-1 bytes.
   */
  bytes: string | Uint8Array;
  framing: RequestFraming;
  /** A HEAD request: its response has no content whatever its fields say (RFC 9112 §6.3). */
  isHead: boolean;
}

/** The methods Fetch upper-cases (Fetch "normalize a method"), as fetch would have sent them. */
const NORMALISED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
/**
 * CONNECT would turn the connection into a tunnel; TRACE/TRACK reflect the request, injected
 * credential included, back into the response (RFC 9110 §9.3.8) — fetch refuses them too.
 */
const REFUSED = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Methods fetch sends without Content-Length when there is no body; others get `content-length: 0`. */
const NO_LENGTH_WHEN_EMPTY = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);
const NO_BODY: RequestFraming = { kind: "none" };
const NON_ASCII = /[\x80-\xff]/;
/** RFC 9110 §8.6: 1*DIGIT; 15 digits keep the number exact in a double. */
const DECIMAL = /^\d{1,15}$/;

/** Headers, or the proxy's FieldList: fields in the order to write, and a lookup. */
export type RequestFields = Iterable<readonly [string, string]> & { get(name: string): string | null };

/** A request's field lines, checked and written once; the same fields may head many requests. */
export interface SerializedFields {
  /** `name: value\r\n` for each field but Host, Content-Length and the hop-by-hop ones. */
  text: string;
  /** The Content-Length the caller gave, for a body's framing. */
  contentLength: string | null;
  /** Some value carries obs-text: the head must be written as Latin-1 bytes. */
  nonAscii: boolean;
}

export function serializeFields(headers: RequestFields): SerializedFields {
  let text = "";
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || HOP_BY_HOP.has(lower)) continue;
    // RFC 9112 §2.2 / RFC 9110 §5.5: a CR, LF or NUL in a name or value would end the field early
    // and let the rest be read as another field or request (smuggling); refuse, never strip.
    if (!FIELD_NAME.test(name))
      throw new UpstreamRequestError("upstream client: a header field name is invalid");
    if (!FIELD_VALUE.test(value))
      throw new UpstreamRequestError(`upstream client: the ${lower} header field value is invalid`);
    text += `${lower}: ${value}\r\n`;
  }
  return { text, contentLength: headers.get("content-length"), nonAscii: NON_ASCII.test(text) };
}

/** The head: request line, Host from the one parsed target, the fields, this body's framing. */
export function requestHead(
  target: Target,
  method: string,
  fields: SerializedFields,
  hasBody: boolean,
): RequestHead {
  const verb = normaliseMethod(method);
  const framing = requestFraming(verb, fields.contentLength, hasBody);
  let head = `${verb} ${target.pathAndQuery} HTTP/1.1\r\nhost: ${target.authority}\r\n${fields.text}`;
  if (framing.kind === "length") head += `content-length: ${framing.length}\r\n`;
  else if (framing.kind === "chunked") head += "transfer-encoding: chunked\r\n";
  else if (!NO_LENGTH_WHEN_EMPTY.has(verb)) head += "content-length: 0\r\n";
  head += "\r\n";
  // The request line and Host are visible ASCII (the target was parsed); only a field may not be.
  const bytes = fields.nonAscii ? Buffer.from(head, "latin1") : head;
  return { method: verb, bytes, framing, isHead: verb === "HEAD" };
}

function normaliseMethod(method: string): string {
  // Already in its normal form, and a token: the checks below could only say so again.
  if (NORMALISED.has(method)) return method;
  if (!FIELD_NAME.test(method)) throw new UpstreamRequestError("upstream client: the method is not a token");
  const upper = method.toUpperCase();
  if (REFUSED.has(upper))
    throw new UpstreamRequestError(`upstream client: the ${upper} method is not forwarded`);
  return NORMALISED.has(upper) ? upper : method;
}

/**
 * A body of known length is sent with that Content-Length (the upload must then match it exactly);
 * otherwise chunked (RFC 9112 §7.1). No body: nothing, like fetch. A Content-Length given without a
 * body is dropped rather than sent with nothing behind it, which would hang the upstream.
 */
function requestFraming(method: string, declared: string | null, hasBody: boolean): RequestFraming {
  if (!hasBody) return NO_BODY;
  if (declared === null) return { kind: "chunked" };
  if (!DECIMAL.test(declared))
    throw new UpstreamRequestError(`upstream client: the ${method} request's Content-Length is invalid`);
  return { kind: "length", length: Number(declared) };
}

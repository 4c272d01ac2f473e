import { ProxyError } from "../core/errors.ts";
import { FieldList } from "../core/http/field-list.ts";
import { FIELD_NAME, FIELD_VALUE, HOP_BY_HOP } from "../core/http/fields.ts";

type RawHeaders = ReadonlyArray<readonly [string, string]>;

const DECIMAL = /^\d{1,15}$/;

/**
 * Request fields that never travel upstream: the wrapper and proxy credentials (DESIGN §2: the proxy
 * never forwards the wrapper), client-certificate claims an upstream might trust (a client could
 * forge them), `Host` (the URL decides it: one parsed target, never a second one from the client),
 * and `Expect`, which this proxy answers itself.
 */
const STRIPPED_REQUEST: ReadonlySet<string> = new Set([
  "host",
  "authorization",
  "proxy-authorization",
  "x-forwarded-client-cert",
  "expect",
]);
const STRIPPED_REQUEST_PREFIXES = ["x-ssl-client-", "x-client-cert"];

/**
 * Builds the upstream request's headers from the client's, in order. Injection is applied to the
 * result afterwards, so a `Connection: authorization` from the client cannot remove it (RFC 9110
 * §7.6.1 lets a sender name extra hop-by-hop fields; we honour that only for the client's own).
 * Throws ProxyError `invalid_request` for framing a later hop could read differently (RFC 9112 §6.3).
 */
export function buildUpstreamHeaders(rawHeaders: RawHeaders): FieldList {
  checkFieldSyntax(rawHeaders);
  const names = rawHeaders.map(([name]) => name.toLowerCase());
  const contentLength = checkFraming(rawHeaders, names);
  const dropped = connectionOptions(rawHeaders, names);
  const headers = new FieldList();
  const cookies: string[] = [];
  for (let index = 0; index < names.length; index += 1) {
    const lower = names[index] as string;
    if (lower === "content-length" || isStrippedRequest(lower) || dropped?.has(lower) === true) continue;
    const value = (rawHeaders[index] as readonly [string, string])[1];
    if (lower === "cookie") cookies.push(value);
    else headers.append(lower, value);
  }
  // RFC 6265 §5.4: one Cookie field, pairs joined with "; " (a ", " join would corrupt them).
  if (cookies.length > 0) headers.set("cookie", cookies.join("; "));
  if (contentLength !== undefined) headers.set("content-length", contentLength);
  return headers;
}

/** Upstream response fields minus hop-by-hop ones; everything else (Location, each Set-Cookie) untouched. */
export function filterResponseHeaders(upstream: Headers): Headers {
  const dropped = new Set(HOP_BY_HOP);
  for (const option of splitList(upstream.get("connection") ?? "")) dropped.add(option);
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (!dropped.has(name.toLowerCase())) headers.append(name, value);
  }
  return headers;
}

function isStrippedRequest(name: string): boolean {
  if (HOP_BY_HOP.has(name) || STRIPPED_REQUEST.has(name)) return true;
  for (const prefix of STRIPPED_REQUEST_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

function checkFieldSyntax(rawHeaders: RawHeaders): void {
  for (const [name, value] of rawHeaders) {
    if (!FIELD_NAME.test(name)) refuse("a header name is not a valid HTTP token");
    if (!FIELD_VALUE.test(value)) refuse(`header ${name.toLowerCase()} contains a control character`);
  }
}

/**
 * The body's length must have exactly one reading: Content-Length together with Transfer-Encoding,
 * or Content-Length values that differ, are classic request-smuggling vectors (RFC 9112 §6.1, §6.3).
 * Returns the single Content-Length, if any.
 */
function checkFraming(rawHeaders: RawHeaders, names: readonly string[]): string | undefined {
  const lengths = new Set<string>();
  let chunked = false;
  let hosts = 0;
  for (let index = 0; index < names.length; index += 1) {
    const lower = names[index];
    if (lower === "transfer-encoding") chunked = true;
    if (lower === "host") hosts += 1;
    if (lower === "content-length") {
      const items = splitList((rawHeaders[index] as readonly [string, string])[1]);
      if (items.length === 0) refuse("Content-Length is empty");
      for (const item of items) lengths.add(item);
    }
  }
  // RFC 9112 §3.2: a server MUST answer 400 to more than one Host; two hops could each pick one.
  if (hosts > 1) refuse("more than one Host header");
  if (chunked && lengths.size > 0) refuse("both Content-Length and Transfer-Encoding are present");
  if (lengths.size > 1) refuse("conflicting Content-Length values");
  const [length] = lengths;
  if (length !== undefined && !DECIMAL.test(length)) refuse("Content-Length is not a decimal number");
  return length;
}

/**
 * The field names the client's Connection header lists (RFC 9110 §7.6.1), minus the hop-by-hop
 * ones that are dropped anyway; undefined when there are none, as for a keep-alive request.
 */
function connectionOptions(rawHeaders: RawHeaders, names: readonly string[]): Set<string> | undefined {
  let options: Set<string> | undefined;
  for (let index = 0; index < names.length; index += 1) {
    if (names[index] !== "connection") continue;
    for (const option of splitList((rawHeaders[index] as readonly [string, string])[1])) {
      if (HOP_BY_HOP.has(option)) continue;
      options ??= new Set();
      options.add(option);
    }
  }
  return options;
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== "");
}

function refuse(problem: string): never {
  throw new ProxyError("invalid_request", `proxy request headers: ${problem}`);
}

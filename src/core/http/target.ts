import { ProxyError } from "../errors.ts";

/** Where a proxied request goes: `/<host>[:port]/<path>?<query>` split without normalising anything. */
export interface Target {
  /** Lower-case DNS name or canonical dotted-quad IPv4. */
  readonly host: string;
  /** Undefined when the target named none (the rule's scheme decides the default). */
  readonly port: number | undefined;
  /** Starts with "/"; exactly the bytes the client sent after the host segment. */
  readonly pathAndQuery: string;
}

/** Request lines longer than this are refused; RFC 9112 §3 recommends supporting at least 8000 octets. */
export const MAX_TARGET_LENGTH = 8192;

/**
 * Visible ASCII only (RFC 3986 §2): no control characters, space, tab, DEL or raw non-ASCII, any of
 * which some parser on the way could split on or strip, making the host we check differ from the
 * host that is dialled.
 */
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DECIMAL_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const PORT = /^[1-9]\d{0,4}$/;
/** Percent-encodings that decode to `.`, `/` or `\`, also double-encoded (`%252e`) for servers that decode twice. */
const ENCODED_SEPARATOR = /%(?:25)?(?:2e|2f|5c)/i;
const MALFORMED_PERCENT = /%(?![0-9a-f]{2})/i;

/**
 * Parses the raw request target of a proxy request (origin-form, RFC 9112 §3.2.1). Nothing is
 * decoded or resolved: any ambiguity a later parser could read differently — dot-segments, encoded
 * separators, userinfo, IPv6 or non-canonical IPv4 — is refused rather than normalised (DESIGN §4.3),
 * so the host that is checked against the allow-list is the host that is dialled.
 */
export function parseTarget(rawTarget: string): Target {
  const known = remembered.get(rawTarget);
  if (known !== undefined) return known;
  const target: Target = Object.freeze(parseNewTarget(rawTarget));
  if (rawTarget.length <= MAX_REMEMBERED_LENGTH) {
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(rawTarget, target);
  }
  return target;
}

/**
 * Targets parsed before, by their exact text: an agent calls the same few endpoints again and again,
 * and the answer depends on nothing but the text. Only accepted targets are kept (a refusal throws
 * before), frozen so no caller can change what the next request gets, and the memo is bounded in
 * entries and in the length of what it keeps, since the text comes from agents.
 */
const remembered = new Map<string, Target>();
const MAX_REMEMBERED = 1024;
const MAX_REMEMBERED_LENGTH = 256;

function parseNewTarget(rawTarget: string): Target {
  if (rawTarget.length > MAX_TARGET_LENGTH) refuse("the request target is longer than 8 KiB");
  if (!VISIBLE_ASCII.test(rawTarget))
    refuse("the request target contains a control, space or non-ASCII character");
  // RFC 9112 §3.2: absolute-form, authority-form (CONNECT) and asterisk-form are never proxied here.
  if (!rawTarget.startsWith("/")) refuse("the request target must start with /<host>/");
  if (rawTarget.includes("#")) refuse("the request target contains a fragment");
  const hostEnd = firstIndexOf(rawTarget, ["/", "?"], 1);
  const authority = rawTarget.slice(1, hostEnd);
  const rest = rawTarget.slice(hostEnd);
  const { host, port } = parseAuthority(authority);
  const pathAndQuery = rest.startsWith("/") ? rest : `/${rest}`;
  checkPathAndQuery(pathAndQuery);
  return { host, port, pathAndQuery };
}

/**
 * Parses `host[:port]` with the same grammar for request targets and configured upstreams. Throws
 * ProxyError `bad_target`; callers parsing configuration translate it into a ConfigError.
 */
export function parseAuthority(authority: string): { host: string; port: number | undefined } {
  if (authority === "") refuse("the host segment is empty");
  // Userinfo, backslashes, percent-encoding and IPv6 brackets are where URL parsers disagree
  // (RFC 3986 §3.2.1, §7.3; WHATWG URL treats "\" as "/"), so none of them is ever accepted.
  if (/[@\\%;[\]]/.test(authority)) refuse("the host segment contains a forbidden character (@ \\ % ; [ ])");
  const colon = authority.indexOf(":");
  const hostText = colon === -1 ? authority : authority.slice(0, colon);
  const portText = colon === -1 ? undefined : authority.slice(colon + 1);
  const host = parseHost(hostText.toLowerCase());
  return { host, port: portText === undefined ? undefined : parsePort(portText) };
}

function parseHost(host: string): string {
  if (host === "") refuse("the host segment has no host name");
  if (host.length > 253) refuse("the host name is longer than 253 characters");
  // "/v1/…" is the broker's own API (DESIGN §4.3), never an upstream.
  if (host === "v1") refuse("v1 is the broker API, not an upstream host");
  const labels = host.split(".");
  const last = labels[labels.length - 1] ?? "";
  if (/^\d+$/.test(last) || /^0x/i.test(last)) return parseIpv4(host, labels);
  if (!labels.every((label) => LABEL.test(label))) {
    refuse("the host name is not a plain DNS name (labels of a-z, 0-9 and inner hyphens, no trailing dot)");
  }
  return host;
}

/**
 * Only canonical dotted-quad IPv4. inet_aton() also accepts `127.1`, `0x7f.1`, `0177.0.0.1` and
 * `2130706433`, which would let a target dodge a textual comparison against the allow-list or the
 * metadata block list; an all-numeric last label is never a DNS name (RFC 3696 §2).
 */
function parseIpv4(host: string, labels: string[]): string {
  const canonical = labels.length === 4 && labels.every((p) => DECIMAL_OCTET.test(p) && Number(p) <= 255);
  if (!canonical) refuse("the host is not a canonical dotted-quad IPv4 address or a DNS name");
  return host;
}

function parsePort(text: string): number {
  if (!PORT.test(text) || Number(text) > 65535) refuse("the port must be a number from 1 to 65535");
  return Number(text);
}

function checkPathAndQuery(pathAndQuery: string): void {
  const queryStart = pathAndQuery.indexOf("?");
  const path = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  if (MALFORMED_PERCENT.test(pathAndQuery)) refuse("the request target has a malformed percent-encoding");
  if (path.includes("\\")) refuse("the path contains a backslash");
  // RFC 3986 §4.2: "//x" is a network-path reference, read as host x by any parser that resolves the
  // path against a base; fetch collapses it to "/x" while the byte relay sends it as written, so the
  // upstream would see a different request depending on the path that served it (issue #16).
  if (path.startsWith("//")) refuse("the path starts with // (read as a host by URL parsers)");
  // RFC 3986 §5.2.4: an upstream (or a URL parser on the way) would remove dot-segments and could
  // climb out of the prefix the operator expects; encoded separators are decoded by some servers, and
  // "." never needs encoding (RFC 3986 §2.3), so any %2e is an attempt at ambiguity.
  if (ENCODED_SEPARATOR.test(path)) refuse("the path contains an encoded dot, slash or backslash");
  if (path.split("/").some((segment) => segment === "." || segment === "..")) {
    refuse("the path contains a dot-segment");
  }
}

function firstIndexOf(text: string, needles: string[], from: number): number {
  const found = needles.map((n) => text.indexOf(n, from)).filter((i) => i !== -1);
  return found.length === 0 ? text.length : Math.min(...found);
}

function refuse(problem: string): never {
  throw new ProxyError("bad_target", `proxy target: ${problem}`);
}

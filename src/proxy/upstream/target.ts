/**
 * Splits the proxy's absolute upstream URL into what the connection and the request line need,
 * without normalising it: `new URL()` would resolve `..` and `%2e%2e` (DESIGN §11), so the path and
 * query are taken byte for byte and only checked to be a valid origin-form request-target.
 */

import { isIPv4, isIPv6 } from "node:net";
import { UpstreamRequestError } from "./errors.ts";

export interface Target {
  secure: boolean;
  /** What to connect to: a DNS name or an IP literal (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** TLS server_name: DNS names only (RFC 6066 §3 forbids IP literals there). */
  serverName: string | undefined;
  /** The Host field (RFC 9110 §7.2): host as in the URL, port omitted when it is the scheme's default. */
  authority: string;
  /** RFC 9112 §3.2.1 origin-form, exactly as given. */
  pathAndQuery: string;
  /** Pool key: connections are shared only between requests to the same scheme, host and port. */
  origin: string;
}

const SHAPE = /^(https?):\/\/([^/?#]*)(.*)$/s;
/** RFC 9112 §3.2: a request-target is visible ASCII; a fragment is never sent (RFC 9110 §7.1). */
const ORIGIN_FORM = /^[/?][\x21-\x22\x24-\x7e]*$/;
const BRACKETED = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/;
const NAMED = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** A last label that a resolver could read as a number (`127.1`, `0x7f`): only a strict dotted quad may. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;

/** What a target's scheme and authority decide: everything but the path and query. */
type Endpoint = Omit<Target, "pathAndQuery">;

/**
 * Endpoints already parsed, keyed by the exact `scheme://authority` text they were parsed from: a
 * pure function of that string, so a hit is the same answer. Bounded; emptied when full.
 */
const endpoints = new Map<string, Endpoint>();
const MAX_ENDPOINTS = 256;

/** Throws UpstreamRequestError; the message never quotes the URL (its query may carry secrets). */
export function parseTarget(url: string): Target {
  const shape = SHAPE.exec(url);
  if (shape === null)
    throw new UpstreamRequestError("upstream client: the URL is not an absolute http(s) URL");
  const rest = shape[3] ?? "";
  if (rest !== "" && !ORIGIN_FORM.test(rest))
    throw new UpstreamRequestError("upstream client: the URL's path or query is not a valid request-target");
  const key = url.slice(0, url.length - rest.length);
  const endpoint = endpoints.get(key) ?? remember(key, parseEndpoint(shape[1] === "https", shape[2] ?? ""));
  return {
    secure: endpoint.secure,
    hostname: endpoint.hostname,
    port: endpoint.port,
    serverName: endpoint.serverName,
    authority: endpoint.authority,
    // RFC 9112 §3.2.1: an empty path is sent as "/".
    pathAndQuery: rest === "" || rest.startsWith("?") ? `/${rest}` : rest,
    origin: endpoint.origin,
  };
}

function remember(key: string, endpoint: Endpoint): Endpoint {
  if (endpoints.size >= MAX_ENDPOINTS) endpoints.clear();
  endpoints.set(key, endpoint);
  return endpoint;
}

function parseEndpoint(secure: boolean, authority: string): Endpoint {
  const { host, hostname, port } = parseAuthority(authority, secure);
  const defaultPort = secure ? 443 : 80;
  return {
    secure,
    hostname,
    port,
    serverName: secure && !isIPv4(hostname) && !isIPv6(hostname) ? hostname : undefined,
    authority: port === defaultPort ? host : `${host}:${port}`,
    origin: `${secure ? "https" : "http"}://${host}:${port}`,
  };
}

interface Authority {
  /** As written in a URL: lower case, IPv6 in brackets. */
  host: string;
  hostname: string;
  port: number;
}

function parseAuthority(authority: string, secure: boolean): Authority {
  const bracketed = BRACKETED.exec(authority);
  if (bracketed !== null) {
    const literal = (bracketed[1] ?? "").toLowerCase();
    // Zone IDs are excluded by the character class: they name a local interface, not an upstream.
    if (!isIPv6(literal))
      throw new UpstreamRequestError("upstream client: the URL's IPv6 literal is invalid");
    return { host: `[${literal}]`, hostname: literal, port: parsePort(bracketed[2], secure) };
  }
  // userinfo (`@`) and anything else outside LDH names and dotted quads falls through to here.
  const named = NAMED.exec(authority);
  const name = (named?.[1] ?? "").toLowerCase();
  if (named === null || !validName(name))
    throw new UpstreamRequestError("upstream client: the URL's host is invalid");
  return { host: name, hostname: name, port: parsePort(named[2], secure) };
}

/** A DNS name of non-empty labels, or a dotted-quad IPv4 address and nothing a resolver reads as one. */
function validName(name: string): boolean {
  if (name.length > 253) return false;
  const labels = name.split(".");
  const last = labels[labels.length - 1] ?? "";
  if (NUMERIC_LABEL.test(last)) return isIPv4(name);
  return labels.every((label) => LABEL.test(label));
}

function parsePort(text: string | undefined, secure: boolean): number {
  if (text === undefined) return secure ? 443 : 80;
  const port = Number(text);
  if (port < 1 || port > 65_535)
    throw new UpstreamRequestError("upstream client: the URL's port is out of range");
  return port;
}

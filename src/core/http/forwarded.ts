/**
 * The client's address for a request that may have come through reverse proxies (`[web]
 * trusted_proxies`). Forwarding headers are written by whoever sends them, so they are read only
 * when the TCP peer is a trusted proxy, and then from the right: each trusted proxy appends the
 * address it received from, so the rightmost entry that is not itself a trusted proxy is the first
 * address nobody we trust could have made up (RFC 7239 §5.2, §7.4; the same rule for the de-facto
 * X-Forwarded-For). Anything that cannot be read that way counts as the proxy's own address: a
 * client then shares the proxy's guess budget, never borrows another client's.
 */
import { type Cidr, inCidr, parseAddress } from "./address.ts";

export function clientAddress(peer: string, headers: Headers, trusted: readonly Cidr[]): string {
  if (!isTrusted(peer, trusted)) return peer;
  const chain = forwardedChain(headers);
  if (chain === undefined) return peer;
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const hop = chain[i]!;
    if (!isTrusted(hop, trusted)) return hop;
  }
  // Every hop is a trusted proxy (a probe from the balancer itself): the origin of the chain.
  return chain[0] ?? peer;
}

function isTrusted(address: string, trusted: readonly Cidr[]): boolean {
  const bytes = parseAddress(address);
  return bytes !== undefined && trusted.some((cidr) => inCidr(bytes, cidr));
}

/**
 * The addresses of X-Forwarded-For or of Forwarded's `for=`, left to right; undefined when there
 * is none, when both headers are present (one of them came from the client, and we cannot tell
 * which) or when any entry is not an address.
 */
function forwardedChain(headers: Headers): string[] | undefined {
  const xff = headers.get("x-forwarded-for");
  const forwarded = headers.get("forwarded");
  if ((xff === null) === (forwarded === null)) return undefined;
  const entries = xff !== null ? xff.split(",").map(bareAddress) : forwarded!.split(",").map(forValue);
  return entries.every((entry): entry is string => entry !== undefined) ? entries : undefined;
}

/** RFC 7239 §4: `for=` among `;`-separated pairs, token or quoted-string, case-insensitive name. */
function forValue(element: string): string | undefined {
  for (const pair of element.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
    const value = pair.slice(eq + 1).trim();
    const unquoted =
      value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
    return bareAddress(unquoted);
  }
  return undefined;
}

/**
 * `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711` → the
 * address; `unknown`, obfuscated identifiers (RFC 7239 §6.3) and anything else → undefined.
 */
function bareAddress(text: string): string | undefined {
  const entry = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry);
  const address = bracketed?.[1] ?? v4WithPort?.[1] ?? entry;
  return parseAddress(address) === undefined ? undefined : address;
}

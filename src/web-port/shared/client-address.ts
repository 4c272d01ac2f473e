/**
 * Whom a request is counted against (wrong user codes, wrong admin passwords) and who is named in
 * audit lines: the one place the web port decides a client's address. It is the TCP peer as Bun
 * sees it, unless that peer is one of `[web] trusted_proxies`: then the address the proxies
 * forwarded (core/http/forwarded.ts). No forwarding header is read from any other peer, since a
 * client can send any header when no proxy strips it.
 */
import type { Cidr } from "../../core/http/address.ts";
import { clientAddress } from "../../core/http/forwarded.ts";

/** What Elysia hands a route as `server`: enough to ask for the TCP peer. */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

export type ClientAddress = (request: Request, server: PeerSource | null) => string;

/** `override` replaces the whole decision (tests without a socket). */
export function clientAddressSource(
  trustedProxies: readonly Cidr[],
  override?: (request: Request) => string | undefined,
): ClientAddress {
  return (request, server) => {
    const fixed = override?.(request);
    if (fixed !== undefined) return fixed;
    const peer = server?.requestIP(request)?.address ?? "unknown";
    return clientAddress(peer, request.headers, trustedProxies);
  };
}

/**
 * Whom a request is counted against (wrong user codes, wrong admin passwords): the one place the
 * web port decides a client's address. Default: the TCP peer as Bun sees it. Behind a load balancer
 * every person shares its address, so such a deployment passes a function that reads its trusted
 * forwarding header; none is trusted by default, since a client can send any header when no proxy
 * strips it.
 */

/** What Elysia hands a route as `server`: enough to ask for the TCP peer. */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

export type ClientAddress = (request: Request, server: PeerSource | null) => string;

export function clientAddressSource(override?: (request: Request) => string | undefined): ClientAddress {
  return (request, server) => override?.(request) ?? server?.requestIP(request)?.address ?? "unknown";
}

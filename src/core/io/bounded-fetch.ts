import { readCapped } from "./read-capped.ts";

/**
 * A fetch for metadata documents (OIDC discovery, JWKS) from identity providers: never follows a
 * redirect (an issuer's documents are served at the issuer's own URLs, and a redirect could carry the
 * request to an internal address), gives up after `timeoutMs`, and refuses bodies above `maxBytes`,
 * so a misbehaving IdP cannot stall start-up or exhaust memory. Returns a fully buffered Response.
 */
export function boundedFetch(
  fetchImpl: typeof fetch,
  limits: { timeoutMs: number; maxBytes: number },
): (url: string, init?: { headers?: HeadersInit; signal?: AbortSignal }) => Promise<Response> {
  return async (url, init = {}) => {
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await fetchImpl(url, {
      method: "GET",
      redirect: "manual",
      signal,
      headers: init.headers ?? {},
    });
    const body = await readCapped(response.body, limits.maxBytes, response.headers.get("content-length"));
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

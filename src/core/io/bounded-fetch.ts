import { readCapped } from "./read-capped.ts";

/**
 * A fetch for identity providers (OIDC discovery, JWKS, token and revocation requests): never follows
 * a redirect (an issuer's endpoints are served at the URLs it names, and a redirect could carry the
 * request to an internal address), gives up after `timeoutMs`, and refuses bodies above `maxBytes`,
 * so a misbehaving IdP cannot stall start-up or exhaust memory. Returns a fully buffered Response.
 */
export function boundedFetch(
  fetchImpl: typeof fetch,
  limits: { timeoutMs: number; maxBytes: number },
): (url: string, init?: BoundedInit) => Promise<Response> {
  return async (url, init = {}) => {
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await fetchImpl(url, {
      method: init.method ?? "GET",
      redirect: "manual",
      signal,
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const body = await readCapped(response.body, limits.maxBytes, response.headers.get("content-length"));
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

export interface BoundedInit {
  method?: "GET" | "POST" | "DELETE";
  headers?: HeadersInit;
  body?: string;
  signal?: AbortSignal;
}

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
    const body = await readCapped(response, limits.maxBytes);
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

export interface BoundedInit {
  method?: "GET" | "POST" | "DELETE";
  headers?: HeadersInit;
  body?: string;
  signal?: AbortSignal;
}

export class BodyTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`response body larger than ${maxBytes} bytes`);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  if (declared > maxBytes) {
    await reader.cancel();
    throw new BodyTooLargeError(maxBytes);
  }
  const body = new Uint8Array(maxBytes);
  let total = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    if (total + chunk.value.byteLength > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(maxBytes);
    }
    body.set(chunk.value, total);
    total += chunk.value.byteLength;
  }
  return body.slice(0, total);
}

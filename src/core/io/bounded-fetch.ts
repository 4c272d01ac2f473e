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
    const body = await readCapped(response, limits.maxBytes);
    return new Response(body, { status: response.status, headers: response.headers });
  };
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

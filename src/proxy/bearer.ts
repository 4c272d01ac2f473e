import { ProxyError } from "../core/errors.ts";

/** RFC 6750 §2.1: `Bearer 1*SP b64token`; the scheme name is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The wrapper from the one `Authorization: Bearer …` header. Two Authorization headers are refused
 * rather than picking one (RFC 6750 §3.1 `invalid_request`): a proxy and an upstream choosing
 * different ones is how a check gets bypassed.
 */
export function extractBearer(rawHeaders: ReadonlyArray<readonly [string, string]>): string {
  const values = rawHeaders
    .filter(([name]) => name.toLowerCase() === "authorization")
    .map(([, value]) => value);
  if (values.length > 1) throw new ProxyError("invalid_request", "proxy: more than one Authorization header");
  const [value] = values;
  // RFC 6750 §3.1: a request without bearer credentials gets no error code beyond "authenticate".
  if (value === undefined || !/^bearer(?: |$)/i.test(value.trimStart())) {
    throw new ProxyError("missing_token", "proxy: an Authorization: Bearer <wrapper> header is required");
  }
  const match = BEARER.exec(value.trim());
  if (!match?.[1]) throw new ProxyError("invalid_token", "proxy: the bearer token is malformed");
  return match[1];
}

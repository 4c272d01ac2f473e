/**
 * Token-endpoint requests (RFC 6749 §4.1.3 code exchange, §6 refresh) and what their answers mean.
 * Made here rather than by arctic: arctic 3.7.0 drops the body of every error status but 400 and
 * 401, and Atlassian refuses a dead refresh token with 403 `invalid_grant`
 * (developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens): read as an outage, the
 * agent would retry a dead wrapper forever instead of logging in again.
 */
import { IdpError } from "../../core/errors.ts";
import type { UpstreamTokens } from "../../core/provider/types.ts";
import { type ClientCredentials, type IdpTransport, sendToIdp, withClientAuth } from "./idp-request.ts";
import { errorResponse, parseTokenResponse, type TokenShape } from "./token-response.ts";

export interface TokenEndpoint {
  url: string;
  client: ClientCredentials;
  /** How the answer is laid out (./token-response.ts). */
  shape: TokenShape;
}

/**
 * Statuses that say "not now" rather than "no": 408 and 429 (RFC 9110 §15.5.9, RFC 6585 §4) are
 * retried by the agent even when an IdP dresses them in an OAuth error body.
 */
const TRANSIENT = new Set([408, 429]);

export async function requestTokens(
  endpoint: TokenEndpoint,
  grant: Record<string, string>,
  where: string,
  transport: IdpTransport,
): Promise<UpstreamTokens> {
  const request = { url: endpoint.url, method: "POST" as const, form: new URLSearchParams(grant) };
  const reply = await sendToIdp(withClientAuth(request, endpoint.client), where, transport);
  if (reply.status === 200 && reply.json !== undefined)
    return parseTokenResponse(reply.json, where, endpoint.shape);
  // RFC 6749 §5.2 says 400 (401 for client authentication), but any 4xx carrying an OAuth `error`
  // is the IdP refusing this grant, whatever status it chose: final for the wrapper.
  const refused = reply.status >= 400 && reply.status < 500 && !TRANSIENT.has(reply.status);
  if (refused && typeof reply.json?.error === "string") throw errorResponse(reply.json.error, where);
  const body = reply.json === undefined ? " or a body that is not a JSON object" : "";
  throw new IdpError("idp_unexpected_response", `${where}: unexpected HTTP ${reply.status}${body}`);
}

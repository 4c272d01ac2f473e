/** `POST /v1/token` with the device_code grant (RFC 8628 §3.4–3.5). */
import { OAuthError } from "../core/errors.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import { constantTimeEqual } from "../core/secret.ts";
import { deviceKeyOf } from "./codes.ts";
import type { DeviceTokenContext } from "./context.ts";
import { jsonTextResponse, oauthError } from "./oauth-response.ts";
import type { RequestParams } from "./request-body.ts";

/**
 * Answers, decided once:
 * - Unknown or expired device code → `expired_token`. The store forgets a grant when it expires
 *   (both backends), so "expired" and "never existed" are indistinguishable here; answering both
 *   the same way keeps the answer independent of sweep timing, and RFC 8628 §3.5 tells the client
 *   to start a new authorization on `expired_token`, which is the right reaction to either.
 * - Result already collected → `invalid_grant`: the code was real but is used up, like a
 *   redeemed authorization code (RFC 6749 §4.1.2, §5.2 "invalid, expired, revoked").
 * - Presented by another certificate → `invalid_grant`, and nothing is consumed or recorded, so
 *   a stolen device code neither yields the result nor disturbs the rightful agent's polling.
 * - Presented with a `client_id` other than the grant's provider → `invalid_grant` (RFC 8628 §3.4:
 *   the code must have been issued to this client), likewise without consuming anything.
 */
export async function handleDeviceToken(
  deps: DeviceTokenContext,
  client: ClientIdentity,
  params: RequestParams,
  clientId: string | undefined,
): Promise<Response> {
  const deviceCode = params.get("device_code");
  if (deviceCode === undefined || deviceCode === "")
    throw new OAuthError("invalid_request", "device_code: missing");
  const deviceKey = deviceKeyOf(deviceCode);
  const now = deps.now();
  const grant = await deps.store.getByDeviceKey(deviceKey, now);
  if (grant === undefined) return oauthError("expired_token", "device_code: unknown or expired");
  const audit = { workload: client.workload, fingerprint: client.fingerprint, provider: grant.provider };
  // DESIGN §4.1: only the certificate that created the grant collects it (the wrapper is bound to
  // it anyway); constant time so timing does not reveal how much of a thumbprint matched.
  if (!constantTimeEqual(grant.thumbprint, client.thumbprint)) {
    deps.logger.audit("token.refused", { ...audit, reason: "binding_mismatch" });
    return oauthError("invalid_grant", "device_code: issued to a different client certificate");
  }
  if (clientId !== undefined && clientId !== grant.provider) {
    deps.logger.audit("token.refused", { ...audit, reason: "client_mismatch" });
    return oauthError("invalid_grant", "device_code: issued to a different client_id");
  }
  if ((await deps.store.poll(deviceKey, now)) === "slow_down") {
    return oauthError("slow_down", `polling faster than every ${grant.interval} seconds`);
  }
  if (grant.status === "pending" || grant.status === "approved") {
    return oauthError("authorization_pending", "waiting for the person to approve");
  }
  if (grant.status === "denied") return oauthError("access_denied", "the request was denied");
  const result = await deps.store.take(deviceKey, now);
  if (result === undefined) return oauthError("invalid_grant", "device_code: result already collected");
  deps.logger.audit("token.collected", { ...audit, outcome: "collected" });
  return jsonTextResponse(result);
}

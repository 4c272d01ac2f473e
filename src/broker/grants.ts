/** `POST /v1/grants`: the device authorization request (RFC 8628 §3.1–3.2) of DESIGN §4.1. */

import { wrapperBindings } from "../core/access/binding.ts";
import { OAuthError, RendezvousError, SurrogateError } from "../core/errors.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import { requestedProvider } from "./client-id.ts";
import {
  deviceKeyOf,
  formatUserCode,
  generateDeviceCode,
  generateGrantId,
  generateUserCode,
} from "./codes.ts";
import type { GrantContext } from "./context.ts";
import { jsonResponse, oauthError } from "./oauth-response.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { GrantRecord } from "./rendezvous/store.ts";
import type { RequestParams } from "./request-body.ts";
import { parseScope } from "./scope.ts";

/** Random codes collide with a live grant about never; a few retries make "never" certain enough. */
const CREATE_ATTEMPTS = 3;

interface NewGrant {
  record: GrantRecord;
  deviceCode: string;
}

function newGrant(deps: GrantContext, client: ClientIdentity, provider: string, scope: string[]): NewGrant {
  const now = deps.now();
  const deviceCode = generateDeviceCode();
  const { grantTtl, interval } = deps.rendezvous;
  const record: GrantRecord = {
    id: generateGrantId(),
    deviceKey: deviceKeyOf(deviceCode),
    userCode: generateUserCode(),
    provider,
    scope,
    workload: client.workload,
    thumbprint: client.thumbprint,
    fingerprint: client.fingerprint,
    bindings: wrapperBindings(client, deps.policy.bindings(client.workload, provider)),
    createdAt: now,
    expiresAt: now + grantTtl * 1000,
    interval,
    status: "pending",
  };
  return { record, deviceCode };
}

/** Retries only a code collision (`server_error` from the store); caps and outages go to the caller. */
async function createGrant(deps: GrantContext, make: () => NewGrant): Promise<NewGrant> {
  for (let attempt = 1; ; attempt += 1) {
    const grant = make();
    try {
      await deps.store.create(grant.record, grant.record.createdAt);
      return grant;
    } catch (error) {
      const collision = error instanceof RendezvousError && error.code === "server_error";
      if (!collision || attempt >= CREATE_ATTEMPTS) throw error;
    }
  }
}

/** Which provider, refused when unknown, static or not allowed for this workload by `[[policy]]`. */
function checkProvider(deps: GrantContext, client: ClientIdentity, params: RequestParams): string {
  const name = requestedProvider(deps.providers, params);
  const provider = deps.providers.get(name);
  if (provider === undefined) throw new OAuthError("invalid_request", "provider: not configured");
  if (provider.oauth === undefined) {
    throw new OAuthError("invalid_request", "provider: static provider, wrappers come from `surrogate seal`");
  }
  if (!deps.policy.allows(client.workload, name)) {
    // The identity as the broker saw it (SPIFFE ID, else CN), so the operator can write the rule;
    // it is the caller's own identity, nothing it did not present.
    throw new OAuthError(
      "access_denied",
      `no [[policy]] rule allows workload ${client.workload} to use provider ${name}`,
    );
  }
  return name;
}

function grantResponse(deps: GrantContext, grant: NewGrant): Response {
  const userCode = formatUserCode(grant.record.userCode);
  const verificationUri = `${deps.issue.issuer}/device`;
  return jsonResponse({
    device_code: grant.deviceCode,
    user_code: userCode,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${userCode}`,
    expires_in: deps.rendezvous.grantTtl,
    interval: grant.record.interval,
  });
}

/** The audit line's outcome for a refusal: its error code, or the policy refusal by name. */
function outcomeOf(error: unknown): string {
  if (error instanceof OAuthError && error.code === "access_denied") return "denied_by_policy";
  return error instanceof SurrogateError ? error.code : "server_error";
}

/**
 * Scopes a login cannot do without go in front of the agent's own, here, so the consent page shows
 * what is really asked: `openid` for OIDC (without it no id_token, OIDC Core §3.1.2.1, and the
 * callback could never establish who logged in), then the profile's required scopes
 * (`offline_access` for Microsoft and Atlassian: without it no refresh token, and the wrapper dies
 * with the first access token).
 */
function withRequired(provider: ResolvedProvider | undefined, scope: string[]): string[] {
  const required = [...(provider?.oidc === true ? ["openid"] : []), ...(provider?.requiredScopes ?? [])];
  return [...new Set([...required, ...scope])];
}

/** Every attempt is audited, refusals included; the provider only when configured (never raw input). */
export async function handleGrant(
  deps: GrantContext,
  client: ClientIdentity,
  params: RequestParams,
  limiter: RateLimiter,
): Promise<Response> {
  const requested = params.get("client_id") || params.get("provider");
  const known = requested !== undefined && deps.providers.has(requested) ? requested : undefined;
  const audit = { workload: client.workload, fingerprint: client.fingerprint, provider: known };
  // Counted before anything else, refused attempts included: each one costs an audit line.
  const decision = limiter.take(client.workload);
  if (!decision.allowed) {
    deps.logger.audit("grant.created", { ...audit, outcome: "rate_limited" });
    return oauthError("rate_limited", "grants: too many created by this workload, retry later", {
      retryAfter: decision.retryAfter,
    });
  }
  try {
    const provider = checkProvider(deps, client, params);
    const resolved = deps.providers.get(provider);
    const scope = withRequired(resolved, parseScope(params.get("scope"), resolved?.scopes ?? []));
    const grant = await createGrant(deps, () => newGrant(deps, client, provider, scope));
    deps.logger.audit("grant.created", { ...audit, scope: scope.join(" "), outcome: "created" });
    return grantResponse(deps, grant);
  } catch (error) {
    deps.logger.audit("grant.created", { ...audit, outcome: outcomeOf(error) });
    // RFC 8628 has no policy refusal at this step; 403 says "authenticated, but not allowed".
    if (error instanceof OAuthError && error.code === "access_denied") {
      return oauthError("access_denied", error.message, { status: 403 });
    }
    throw error;
  }
}

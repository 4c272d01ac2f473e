/** `POST /v1/token` with grant_type=refresh_token: re-wrap a fresh upstream token pair (DESIGN §4.1). */
import { decodeJwt } from "jose";
import { wrapperBindings } from "../core/access/binding.ts";
import { IdpError, OAuthError, SurrogateError, TokenError } from "../core/errors.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import type { OAuthClient, ResolvedProvider, UpstreamTokens } from "../core/provider/types.ts";
import { constantTimeEqual } from "../core/secret.ts";
import { openWrapper } from "../core/token/open.ts";
import type { VerifiedWrapper } from "../core/token/types.ts";
import { verifyWrapper } from "../core/token/verify.ts";
import type { RefreshContext } from "./context.ts";
import { issueWrappers, type TokenResponseBody } from "./issue.ts";
import { recordRotation } from "./logins.ts";
import { jsonResponse } from "./oauth-response.ts";
import { admitRefresh } from "./refresh-admission.ts";
import type { RequestParams } from "./request-body.ts";

export type RefreshHandler = (
  client: ClientIdentity,
  params: RequestParams,
  clientId: string | undefined,
) => Promise<Response>;

const invalidGrant = (problem: string) => new OAuthError("invalid_grant", `refresh_token: ${problem}`);

interface CheckedWrapper {
  wrapper: VerifiedWrapper;
  provider: ResolvedProvider;
  oauth: OAuthClient;
}

/** Wrapper checks first; the upstream refresh token is decrypted only once all of them passed. */
async function checkWrapper(
  deps: RefreshContext,
  client: ClientIdentity,
  token: string,
): Promise<CheckedWrapper> {
  let wrapper: VerifiedWrapper;
  try {
    wrapper = await verifyWrapper(token, "refresh", deps.keys(), {
      issuer: deps.issue.issuer,
      now: deps.now(),
    });
  } catch (error) {
    if (error instanceof TokenError) throw invalidGrant(error.message);
    throw error;
  }
  checkBinding(wrapper, client);
  const provider = deps.providers.get(wrapper.provider);
  if (provider?.oauth === undefined) throw invalidGrant("provider no longer configured for OAuth");
  return { wrapper, provider, oauth: provider.oauth };
}

/**
 * RFC 8705 §3: a certificate-bound refresh wrapper is usable only with that certificate. A
 * SPIFFE-ID-bound one (DESIGN §5) with any certificate naming that ID: the agent port admitted it
 * only under that ID's own trust domain bundle (src/core/identity/trust.ts), so an ID from another
 * trust domain, or another ID, is refused here. `jkt` never binds a refresh wrapper (claims.ts).
 */
function checkBinding(wrapper: VerifiedWrapper, client: ClientIdentity): void {
  const { kind, value } = wrapper.binding;
  if (kind === "spiffe_id") {
    if (client.spiffeId === undefined || !constantTimeEqual(value, client.spiffeId))
      throw invalidGrant("bound to another SPIFFE ID");
  } else if (!constantTimeEqual(value, client.thumbprint)) {
    throw invalidGrant("bound to another certificate");
  }
}

/**
 * The IdP's refusal (revoked, expired, reused refresh token) is final for this wrapper:
 * `invalid_grant`, and the agent logs in again. A network failure or an answer we cannot read is
 * not the agent's fault and may pass: 503, and the agent retries with the same wrapper.
 */
function upstreamFailure(error: unknown): SurrogateError {
  if (error instanceof IdpError && error.code === "idp_error")
    return invalidGrant("refused by the identity provider");
  if (error instanceof IdpError)
    return new OAuthError("temporarily_unavailable", "identity provider unavailable");
  if (error instanceof TokenError) return invalidGrant("cannot be opened by this deployment");
  return error instanceof SurrogateError ? error : new OAuthError("server_error", "refresh failed");
}

interface Refreshed {
  body: TokenResponseBody;
  provider: string;
  rotated: boolean;
}

async function refreshOnce(deps: RefreshContext, client: ClientIdentity, token: string): Promise<Refreshed> {
  const { wrapper, provider, oauth } = await checkWrapper(deps, client, token);
  admitRefresh(deps, client, wrapper);
  let fresh: UpstreamTokens;
  let tokens: UpstreamTokens;
  try {
    const sealed = await openWrapper(wrapper, deps.keys());
    // A token that never expires is sealed itself (./issue.ts): there is nothing to ask the IdP,
    // and re-wrapping it as it is keeps the login's bound, auth_time + refresh_ttl.
    fresh =
      sealed.type === "refresh"
        ? await oauth.refresh(sealed.token)
        : { accessToken: sealed.token, tokenType: sealed.type };
    // No rotation: the old upstream refresh token stays valid, so it is wrapped again; the agent
    // must always leave with a usable refresh wrapper (DESIGN §4.1).
    tokens =
      sealed.type === "refresh" ? { ...fresh, refreshToken: fresh.refreshToken ?? sealed.token } : fresh;
  } catch (error) {
    throw upstreamFailure(error);
  }
  const context = {
    provider,
    // The next pair binds what the current policy says for the certificate presenting now: after an
    // SVID rotation, the new access wrapper is bound to the new SVID (DESIGN §5).
    bindings: wrapperBindings(client, deps.policy.bindings(client.workload, provider.name)),
    requestedScope: wrapper.scope?.split(" ") ?? [],
    // Refresh responses rarely carry an id_token; sub/email come from our own signed refresh wrapper.
    idClaims: { ...wrapper.claims },
    login: { authTime: wrapper.authTime, sid: wrapper.sid },
  };
  const options = { ...deps.issue, now: deps.now() };
  const { body } = await issueWrappers(tokens, context, deps.keys(), options);
  if (fresh.refreshToken !== undefined) await recordRotation(deps, wrapper.sid, fresh);
  return { body, provider: provider.name, rotated: fresh.refreshToken !== undefined };
}

/**
 * The provider a refresh wrapper names, read without verifying it. Safe because it is only used to
 * refuse: a wrapper passing the comparison is still verified in full, and what is verified is this
 * same text (the in-flight key includes it), so its verified `prv` is this one.
 */
function unverifiedProviderOf(token: string): string | undefined {
  try {
    const provider = decodeJwt(token).prv;
    return typeof provider === "string" ? provider : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Concurrent refreshes of one wrapper share a single IdP call. With rotating refresh tokens, a
 * second parallel refresh would present an already-used token: the IdP refuses it, and many treat
 * reuse as theft and revoke the whole token family, logging the person out (ANCHORS: the recurring
 * oauth2-proxy failure). The key is the certificate plus the exact wrapper text, looked up before
 * any asynchronous work, so every concurrent duplicate joins, while a caller with another
 * certificate never shares (or spoils) the rightful caller's outcome. Within this process only:
 * across instances the IdP's own rotation grace rules decide.
 */
export function createRefreshHandler(deps: RefreshContext): RefreshHandler {
  const inFlight = new Map<string, Promise<Refreshed>>();
  return async (client, params, clientId) => {
    const token = params.get("refresh_token");
    if (token === undefined || token === "")
      throw new OAuthError("invalid_request", "refresh_token: missing");
    const audit = { workload: client.workload, fingerprint: client.fingerprint };
    // RFC 6749 §6: a refresh token is used only by the client it was issued to. Checked before
    // joining a refresh in flight, so a mismatched request never shares another's outcome.
    if (clientId !== undefined && unverifiedProviderOf(token) !== clientId) {
      deps.logger.audit("token.refreshed", { ...audit, outcome: "invalid_grant", reason: "client_mismatch" });
      throw invalidGrant("issued to a different client_id");
    }
    const key = `${client.thumbprint} ${token}`;
    let pending = inFlight.get(key);
    if (pending === undefined) {
      pending = refreshOnce(deps, client, token).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    try {
      const result = await pending;
      const { provider, rotated } = result;
      deps.logger.audit("token.refreshed", { ...audit, provider, rotated, outcome: "refreshed" });
      return jsonResponse(result.body);
    } catch (error) {
      const outcome = error instanceof SurrogateError ? error.code : "server_error";
      deps.logger.audit("token.refreshed", { ...audit, outcome });
      throw error;
    }
  };
}

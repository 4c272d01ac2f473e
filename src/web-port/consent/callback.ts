/**
 * GET /callback: the IdP's authorization response. Nothing is minted unless, in this order, the
 * browser holds our sealed flow cookie, `state` matches it, `iss` is acceptable (RFC 9207), the grant
 * is still `approved`, the code exchange succeeds and (OIDC) the id_token validates.
 *
 * Outcome on the grant, so that a retry is sane:
 * - a callback we cannot tie to a flow (no/invalid cookie, wrong state or iss): grant untouched —
 *   it may be a forgery, and a forgery must not be able to deny or reset someone else's grant;
 * - `error=access_denied` from the IdP: approved → denied (the person said no there);
 * - any other IdP failure (other `error`, unreachable, refused exchange, bad id_token): approved →
 *   pending, so the person can open the same code again and retry until the grant expires, while the
 *   agent simply keeps seeing `authorization_pending`.
 */

import { issueWrappers } from "../../broker/issue.ts";
import { recordLogin } from "../../broker/logins.ts";
import type { GrantRecord } from "../../broker/rendezvous/store.ts";
import { IdpError } from "../../core/errors.ts";
import type { ResolvedProvider, UpstreamTokens } from "../../core/provider/types.ts";
import { constantTimeEqual, Secret } from "../../core/secret.ts";
import { clearCookie, readCookie } from "../shared/cookies.ts";
import { addCookie, type ReplySet } from "../shared/reply.ts";
import type { ConsentContext } from "./context.ts";
import { type FlowState, flowCookieName, openFlow } from "./flow-cookie.ts";
import { idpFailure, idpRefusal } from "./idp-messages.ts";
import {
  ALREADY_USED,
  DENIED,
  DONE,
  FLOW_INVALID,
  type Message,
  messagePage,
  NOT_FOUND_OR_EXPIRED,
} from "./pages.ts";

/** Authorization codes and states are short; a huge parameter is not from a real IdP. */
const MAX_PARAM = 2048;

interface Verified {
  flow: FlowState;
  provider: ResolvedProvider & { oauth: NonNullable<ResolvedProvider["oauth"]> };
  grant: GrantRecord;
}

function param(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  // RFC 6749 §3.1: a repeated parameter is an error; never pick one of several.
  if (values.length !== 1 || (values[0]?.length ?? 0) > MAX_PARAM) return undefined;
  return values[0];
}

/**
 * RFC 9207 §2.4: when `iss` is present it must be exactly the issuer we sent the request to, which
 * defeats mix-up between providers sharing our one redirect URI; a provider whose issuer we do not
 * know cannot vouch for one, so `iss` from it is refused too. An absent `iss` is refused when the
 * IdP advertised `authorization_response_iss_parameter_supported` (the RFC's MUST: a response
 * without it may come from another IdP); otherwise it is accepted, since the browser-bound state
 * plus PKCE already tie the response to this flow and this provider.
 */
function issuerAcceptable(url: URL, provider: Verified["provider"]): boolean {
  if (!url.searchParams.has("iss")) return provider.oauth.requireIss !== true;
  const iss = param(url, "iss");
  return iss !== undefined && provider.oauth.issuer !== undefined && iss === provider.oauth.issuer;
}

async function verify(context: ConsentContext, request: Request, url: URL): Promise<Verified | Message> {
  const sealed = readCookie(request, flowCookieName(context.secure));
  if (sealed === undefined) return FLOW_INVALID;
  const now = context.now();
  const flow = await openFlow(sealed, context.keys(), now).catch(() => undefined);
  const state = param(url, "state");
  if (flow === undefined || state === undefined || !constantTimeEqual(flow.state, state)) return FLOW_INVALID;
  const provider = context.providers.get(flow.provider);
  if (provider?.oauth === undefined) return FLOW_INVALID;
  const withOauth = { ...provider, oauth: provider.oauth };
  if (!issuerAcceptable(url, withOauth)) return FLOW_INVALID;
  const grant = await context.store.getById(flow.grantId, now);
  if (grant === undefined) return NOT_FOUND_OR_EXPIRED;
  if (grant.status === "complete") return ALREADY_USED;
  if (grant.status !== "approved") return FLOW_INVALID;
  return { flow, provider: withOauth, grant };
}

export async function callbackRoute(
  context: ConsentContext,
  request: Request,
  set: ReplySet,
  client: string,
) {
  const url = new URL(request.url);
  const verified = await verify(context, request, url);
  // The cookie is cleared only once it has been used: a forged callback with a wrong state must not
  // be able to wipe the cookie of a sign-in that is still in progress in this browser.
  if (!("flow" in verified)) {
    if (verified !== FLOW_INVALID) clearFlow(context, set);
    return messagePage(set, verified);
  }
  const outcome = await complete(context, url, verified, client);
  clearFlow(context, set);
  return messagePage(set, outcome);
}

function clearFlow(context: ConsentContext, set: ReplySet): void {
  const name = flowCookieName(context.secure);
  addCookie(set, clearCookie(name, { secure: context.secure, sameSite: "lax" }));
}

async function complete(
  context: ConsentContext,
  url: URL,
  verified: Verified,
  client: string,
): Promise<Message> {
  const { grant } = verified;
  const { store, now, logger } = context;
  const error = url.searchParams.get("error");
  if (error !== null) {
    if (error === "access_denied" && (await store.transition(grant.id, "approved", "denied", now()))) {
      logger.audit("consent.denied", {
        provider: grant.provider,
        workload: grant.workload,
        by: "idp",
        remote: client,
      });
      return DENIED;
    }
    return retryLater(context, grant, idpRefusal(error));
  }
  const code = param(url, "code");
  if (code === undefined) return retryLater(context, grant, idpFailure("idp_unexpected_response"));
  let issued: Awaited<ReturnType<typeof exchange>>;
  try {
    issued = await exchange(context, verified, new Secret(code));
  } catch (failure) {
    if (!(failure instanceof IdpError)) throw failure;
    logger.audit("consent.failed", {
      provider: grant.provider,
      workload: grant.workload,
      code: failure.code,
      remote: client,
    });
    return retryLater(context, grant, idpFailure(failure.code));
  }
  if (!(await store.deliver(grant.id, JSON.stringify(issued.body), now()))) {
    // The grant expired during the exchange, or another callback completed it first: say which.
    return (await store.getById(grant.id, now())) === undefined ? NOT_FOUND_OR_EXPIRED : ALREADY_USED;
  }
  await recordLogin(
    context,
    {
      login: issued.login,
      workload: grant.workload,
      fingerprint: grant.fingerprint,
      provider: grant.provider,
      ...(issued.sub === undefined ? {} : { sub: issued.sub }),
      scope: issued.body.scope,
    },
    issued.tokens,
  );
  logger.audit("token.minted", {
    provider: grant.provider,
    workload: grant.workload,
    fingerprint: grant.fingerprint,
    jti: issued.jti,
    sub: issued.sub,
    sid: issued.login.sid,
    outcome: "minted",
    remote: client,
  });
  return DONE;
}

/** Back to pending so the same code can be approved again (see the file comment). */
async function retryLater(context: ConsentContext, grant: GrantRecord, message: Message): Promise<Message> {
  await context.store.transition(grant.id, "approved", "pending", context.now());
  return message;
}

async function exchange(context: ConsentContext, verified: Verified, code: Secret) {
  const { flow, provider, grant } = verified;
  const tokens: UpstreamTokens = await provider.oauth.exchangeCode(code, flow.verifier);
  const idClaims = provider.oidc ? await validatedIdClaims(provider, tokens, flow) : undefined;
  const { keys, now } = context;
  const issued = await issueWrappers(
    tokens,
    {
      provider,
      bindings: grant.bindings,
      requestedScope: grant.scope,
      ...(idClaims === undefined ? {} : { idClaims }),
    },
    keys(),
    { ...context.issue, now: now() },
  );
  // Who logged in, for the audit line only: the id_token's subject when the provider is OIDC.
  const sub = typeof idClaims?.sub === "string" ? idClaims.sub : undefined;
  return { ...issued, sub, tokens };
}

/** OIDC Core §3.1.3.7: an OIDC provider must return an id_token, and its nonce must be ours. */
async function validatedIdClaims(
  provider: Verified["provider"],
  tokens: UpstreamTokens,
  flow: FlowState,
): Promise<Record<string, unknown>> {
  const validate = provider.oauth.validateIdToken?.bind(provider.oauth);
  if (tokens.idToken === undefined || validate === undefined || flow.nonce === undefined) {
    throw new IdpError(
      "id_token_invalid",
      `callback: provider "${provider.name}" returned no usable id_token`,
    );
  }
  return validate(tokens.idToken, flow.nonce);
}

/**
 * POST /device/approve and /device/deny. Both verify the CSRF token before touching the grant, and
 * move it only by compare-and-set from `pending`, so a double click or a second tab cannot answer
 * twice. Approve hands the browser to the IdP (authorization code + PKCE, RFC 7636 S256).
 */

import type { GrantRecord } from "../../broker/rendezvous/store.ts";
import type { AuthorizationRequest, ResolvedProvider } from "../../core/provider/types.ts";
import { Secret } from "../../core/secret.ts";
import { serializeCookie } from "../shared/cookies.ts";
import { csrfValid } from "../shared/csrf.ts";
import { readForm } from "../shared/form.ts";
import { randomToken } from "../shared/random.ts";
import { addCookie, type ReplySet, redirect } from "../shared/reply.ts";
import type { ConsentContext } from "./context.ts";
import { GRANT_ID } from "./device.ts";
import { type FlowState, flowCookieName, sealFlow } from "./flow-cookie.ts";
import {
  ALREADY_ANSWERED,
  CSRF_REJECTED,
  DENIED,
  type Message,
  messagePage,
  NOT_FOUND_OR_EXPIRED,
} from "./pages.ts";

/**
 * Fetch Metadata: a browser that sends `Sec-Fetch-Site` tells us where the form was submitted from;
 * anything but our own origin is refused even before the token check (defence in depth, the token
 * alone already suffices). `Origin` is no use here: with `Referrer-Policy: no-referrer` browsers send
 * `Origin: null` on same-origin POSTs too (Fetch §3.1).
 */
function crossSite(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  return site !== null && site !== "same-origin";
}

/** The grant a verified decision form refers to, or the message to show instead. */
async function decidedGrant(
  context: ConsentContext,
  request: Request,
  client: string,
): Promise<GrantRecord | Message> {
  const form = await readForm(request);
  const id = form.get("grant") ?? "";
  const token = form.get("csrf") ?? "";
  if (crossSite(request) || !GRANT_ID.test(id) || !csrfValid(request, context.secure, id, token)) {
    context.logger.audit("consent.csrf_rejected", { remote: client });
    return CSRF_REJECTED;
  }
  return (await context.store.getById(id, context.now())) ?? NOT_FOUND_OR_EXPIRED;
}

/** `remote`: the person's client address (shared/client-address.ts), for who decided from where. */
function auditFields(grant: GrantRecord, client: string) {
  return {
    provider: grant.provider,
    workload: grant.workload,
    fingerprint: grant.fingerprint,
    remote: client,
  };
}

export async function denyRoute(context: ConsentContext, request: Request, set: ReplySet, client: string) {
  const grant = await decidedGrant(context, request, client);
  if (!("id" in grant)) return messagePage(set, grant);
  const { store, now, logger } = context;
  if (!(await store.transition(grant.id, "pending", "denied", now())))
    return messagePage(set, ALREADY_ANSWERED);
  logger.audit("consent.denied", { ...auditFields(grant, client), by: "person" });
  return messagePage(set, DENIED);
}

/**
 * Fresh per approval: 256-bit state and PKCE verifier (RFC 6749 §10.10, RFC 7636 §7.1: 32 octets →
 * 43 characters), and a nonce for OIDC (OIDC Core §3.1.2.1) binding the id_token to this flow.
 */
function newFlow(context: ConsentContext, grant: GrantRecord, provider: ResolvedProvider) {
  const state = randomToken(context.randomBytes);
  const verifier = new Secret(randomToken(context.randomBytes));
  const nonce = provider.oidc ? randomToken(context.randomBytes) : undefined;
  const flow: FlowState = {
    grantId: grant.id,
    provider: provider.name,
    state,
    verifier,
    exp: grant.expiresAt,
  };
  const authorization: AuthorizationRequest = { state, codeVerifier: verifier, scopes: grant.scope };
  if (nonce !== undefined) {
    flow.nonce = nonce;
    authorization.nonce = nonce;
  }
  return { flow, authorization };
}

/**
 * One flow cookie per browser: approving a second grant in the same browser replaces it, so only
 * the latest sign-in can complete there (the earlier one's callback is refused, nothing is minted).
 */
async function flowCookie(context: ConsentContext, flow: FlowState): Promise<string> {
  const sealed = await sealFlow(flow, context.keys());
  const maxAge = Math.ceil((flow.exp - context.now()) / 1000);
  return serializeCookie(flowCookieName(context.secure), sealed, {
    maxAge,
    secure: context.secure,
    sameSite: "lax",
  });
}

export async function approveRoute(context: ConsentContext, request: Request, set: ReplySet, client: string) {
  const grant = await decidedGrant(context, request, client);
  if (!("id" in grant)) return messagePage(set, grant);
  const provider = context.providers.get(grant.provider);
  // A grant only exists for OAuth providers (the agent API refuses static ones), so this is a
  // configuration change between create and approve; refuse rather than guess.
  if (provider?.oauth === undefined) return messagePage(set, NOT_FOUND_OR_EXPIRED);
  const { flow, authorization } = newFlow(context, grant, provider);
  // Built before the transition: a provider that cannot build a URL leaves the grant pending.
  const target = await provider.oauth.authorizationUrl(authorization);
  if (!(await context.store.transition(grant.id, "pending", "approved", context.now()))) {
    return messagePage(set, ALREADY_ANSWERED);
  }
  addCookie(set, await flowCookie(context, flow));
  context.logger.audit("consent.approved", auditFields(grant, client));
  return redirect(target.href, 302);
}

/**
 * Admin login through an OpenID Connect provider: authorization code + PKCE S256 + nonce, with
 * redirect_uri = issuer + "/admin/callback" (its own OAuth client, since a client's redirect URI is
 * fixed). state, verifier and nonce travel sealed in a short-lived cookie bound to this browser
 * (RFC 9700 §4.7.1); SameSite=Lax because the IdP's redirect back is a cross-site navigation.
 * Who may enter is decided on the validated id_token only: `sub:<sub>`, or the email when the
 * IdP does not say it is unverified.
 */
import { IdpError } from "../../core/errors.ts";
import { constantTimeEqual, Secret } from "../../core/secret.ts";
import { sealJson } from "../../core/token/seal.ts";
import { unsealJson } from "../../core/token/unseal.ts";
import { clearCookie, cookieName, readCookie, serializeCookie } from "../shared/cookies.ts";
import { randomToken } from "../shared/random.ts";
import type { AdminContext } from "./context.ts";
import { MAX_ADMIN_SEALED } from "./session.ts";

const TYP = "surrogate-admin-login+jwe";
const LOGIN_TTL_MS = 10 * 60 * 1000;
const SCOPES = ["openid", "email"];

export function loginCookieName(secure: boolean): string {
  return cookieName("surrogate-admin-login", secure);
}

export function clearLoginCookie(context: AdminContext): string {
  return clearCookie(loginCookieName(context.secure), { secure: context.secure, sameSite: "lax" });
}

/** The IdP authorization URL and the cookie that remembers this attempt. */
export async function startProviderLogin(
  context: AdminContext,
): Promise<{ location: string; cookie: string }> {
  const provider = await context.adminOAuth();
  const oauth = provider.oauth;
  if (oauth === undefined)
    throw new IdpError("idp_unexpected_response", "admin login: provider has no OAuth client");
  const attempt = {
    state: randomToken(context.randomBytes),
    verifier: randomToken(context.randomBytes),
    nonce: randomToken(context.randomBytes),
    exp: context.now() + LOGIN_TTL_MS,
  };
  const url = await oauth.authorizationUrl({
    state: attempt.state,
    codeVerifier: new Secret(attempt.verifier),
    nonce: attempt.nonce,
    scopes: SCOPES,
  });
  const sealed = await sealJson(attempt, context.keys(), TYP);
  const cookie = serializeCookie(loginCookieName(context.secure), sealed, {
    maxAge: LOGIN_TTL_MS / 1000,
    secure: context.secure,
    sameSite: "lax",
  });
  return { location: url.href, cookie };
}

export type ProviderLogin =
  | { ok: true; who: string; sub: string }
  | { ok: false; reason: string; sub?: string };

export async function finishProviderLogin(context: AdminContext, request: Request): Promise<ProviderLogin> {
  const attempt = await readAttempt(context, request);
  const url = new URL(request.url);
  const state = url.searchParams.get("state");
  if (attempt === undefined || state === null || !constantTimeEqual(state, attempt.state)) {
    return { ok: false, reason: "admin_login_state" };
  }
  if (url.searchParams.has("error")) return { ok: false, reason: "admin_login_refused" };
  const code = url.searchParams.get("code");
  const oauth = (await context.adminOAuth()).oauth;
  if (code === null || oauth?.validateIdToken === undefined)
    return { ok: false, reason: "admin_login_failed" };
  const iss = url.searchParams.get("iss");
  // RFC 9207 §2.4: a response naming another issuer is a mix-up attack, and so is one without
  // `iss` from an IdP that advertised it.
  if (iss !== null && oauth.issuer !== undefined && iss !== oauth.issuer)
    return { ok: false, reason: "admin_login_failed" };
  if (iss === null && oauth.requireIss === true) return { ok: false, reason: "admin_login_failed" };
  try {
    const tokens = await oauth.exchangeCode(new Secret(code), new Secret(attempt.verifier));
    if (tokens.idToken === undefined) return { ok: false, reason: "admin_login_failed" };
    const claims = await oauth.validateIdToken(tokens.idToken, attempt.nonce);
    return admit(context.admin?.allow ?? [], claims);
  } catch (error) {
    if (error instanceof IdpError) return { ok: false, reason: "admin_login_failed" };
    throw error;
  }
}

async function readAttempt(context: AdminContext, request: Request) {
  const sealed = readCookie(request, loginCookieName(context.secure));
  if (sealed === undefined) return undefined;
  const value = await unsealJson(sealed, TYP, context.keys(), MAX_ADMIN_SEALED);
  if (value === undefined) return undefined;
  const { state, verifier, nonce, exp } = value;
  if (typeof state !== "string" || typeof verifier !== "string" || typeof nonce !== "string")
    return undefined;
  if (typeof exp !== "number" || exp <= context.now()) return undefined;
  return { state, verifier, nonce };
}

/** Exported for tests: the allow-list decision on validated claims. */
export function admit(allow: readonly string[], claims: Record<string, unknown>): ProviderLogin {
  const sub = typeof claims.sub === "string" ? claims.sub : undefined;
  if (sub === undefined) return { ok: false, reason: "admin_not_allowed" };
  // Only an address the IdP says it verified (OIDC Core §5.1): some IdPs let users set `email`
  // freely and omit `email_verified` (the "nOAuth" class), so an absent claim admits nobody.
  const email =
    typeof claims.email === "string" && claims.email_verified === true
      ? claims.email.toLowerCase()
      : undefined;
  const allowed = allow.some((entry) =>
    entry.startsWith("sub:") ? entry.slice(4) === sub : email !== undefined && entry.toLowerCase() === email,
  );
  if (!allowed) return { ok: false, reason: "admin_not_allowed", sub };
  return { ok: true, who: email ?? `sub:${sub}`, sub };
}

import { createHash, randomBytes } from "node:crypto";

/**
 * Small protocol helpers of the one identity provider (./idp.ts), shared with its test extension
 * (test/helpers/stub-idp.ts): parameter reading, PKCE, token randomness, the OAuth error body.
 */

/** What /authorize recorded for a code, checked again at /token (RFC 6749 §4.1.3). */
export interface IssuedCode {
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce?: string;
  /** Scopes granted to the client application itself, not the person (Slack's bot scopes). */
  appScope?: string;
}

/** What the IdP issued for one grant, before the token response lays it out. */
export interface Issued {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
  /** Space-separated. */
  scope: string;
  idToken?: string;
}

/** RFC 6749 §3.1/§3.2: a parameter sent more than once is invalid; absent and repeated both give undefined. */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

export function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

export function random(): string {
  return randomBytes(24).toString("base64url");
}

export function oauthError(status: number, error: string, description: string): Response {
  return Response.json(
    { error, error_description: description },
    { status, headers: { "cache-control": "no-store" } },
  );
}

/** The RFC 6749 §5.1 token response: every member the grant produced, never cached. */
export function standardTokenBody(issued: Issued): Record<string, unknown> {
  return {
    access_token: issued.accessToken,
    token_type: "Bearer",
    ...(issued.expiresIn !== undefined && { expires_in: issued.expiresIn }),
    scope: issued.scope,
    ...(issued.refreshToken !== undefined && { refresh_token: issued.refreshToken }),
    ...(issued.idToken !== undefined && { id_token: issued.idToken }),
  };
}

/** RFC 6749 §2.3.1: the Basic credentials are form-urlencoded before base64. */
export function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " ")),
    };
  } catch {
    return undefined;
  }
}

/**
 * The registered redirect_uri, compared exactly, except that its loopback port may differ (RFC 8252
 * §7.3): a copy of the dev configuration on other ports is the same client on the same machine.
 */
export function registered(given: string, redirectUri: string): boolean {
  if (given === redirectUri) return true;
  const [a, b] = [URL.parse(given), URL.parse(redirectUri)];
  if (a === null || b === null || b.hostname !== "127.0.0.1" || b.search !== "") return false;
  // Only the port may differ, and only in the canonical spelling (no userinfo, query or fragment).
  return given === `http://127.0.0.1:${a.port}${b.pathname}` && a.port !== "";
}

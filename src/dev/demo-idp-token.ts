import { createHash, randomBytes } from "node:crypto";
import { type CryptoKey, SignJWT } from "jose";
import { constantTimeEqual, type Secret } from "../core/secret.ts";
import type { TtlMap } from "./ttl-map.ts";

/** The one user the demo IdP knows. */
export const DEMO_SUBJECT = "demo-user";
export const DEMO_EMAIL = "demo@example.com";

const ACCESS_TTL_S = 3600;
const ID_TOKEN_TTL_S = 600;
/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** What /authorize recorded for a code, checked again at /token (RFC 6749 §4.1.3). */
export interface IssuedCode {
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce?: string;
}

export interface DemoIdpContext {
  issuer(): string;
  clientId: string;
  clientSecret: Secret;
  codes: TtlMap<IssuedCode>;
  refreshTokens: TtlMap<{ scope: string }>;
  signingKey: CryptoKey;
  kid: string;
  now: () => number;
}

/** POST /token: client authentication, then the authorization_code or refresh_token grant. */
export async function tokenEndpoint(request: Request, context: DemoIdpContext): Promise<Response> {
  if (request.method !== "POST") return oauthError(405, "invalid_request", "use POST");
  const params = new URLSearchParams(await request.text());
  const client = authenticateClient(request.headers.get("authorization"), params, context);
  if (client !== "ok") return client;
  const grant = single(params, "grant_type");
  if (grant === "authorization_code") return codeGrant(params, context);
  if (grant === "refresh_token") return refreshGrant(params, context);
  return oauthError(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
}

/**
 * RFC 6749 §2.3.1: HTTP Basic (id and secret form-urlencoded first) or both in the body, never
 * both methods at once (§2.3: one authentication method per request). The secret is compared in
 * constant time so response timing does not reveal how much of a guess was right.
 */
function authenticateClient(
  header: string | null,
  params: URLSearchParams,
  context: DemoIdpContext,
): "ok" | Response {
  const fromBody = params.has("client_secret");
  let presented: { id: string; secret: string } | undefined;
  if (header !== null && fromBody) return invalidClient();
  if (header?.startsWith("Basic ")) presented = decodeBasic(header.slice(6));
  else if (fromBody)
    presented = { id: single(params, "client_id") ?? "", secret: single(params, "client_secret") ?? "" };
  if (presented === undefined) return invalidClient();
  const idOk = presented.id === context.clientId;
  const secretOk = context.clientSecret.equals(presented.secret);
  return idOk && secretOk ? "ok" : invalidClient();
}

function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
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

async function codeGrant(params: URLSearchParams, context: DemoIdpContext): Promise<Response> {
  // Taken (deleted) before any check: a code is single-use even when the attempt fails (§4.1.2).
  const issued = context.codes.take(single(params, "code") ?? "");
  if (issued === undefined) return oauthError(400, "invalid_grant", "unknown, expired or used code");
  if (single(params, "redirect_uri") !== issued.redirectUri)
    return oauthError(400, "invalid_grant", "redirect_uri differs from the authorization request");
  const verifier = single(params, "code_verifier") ?? "";
  // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the code_challenge.
  if (!CODE_VERIFIER.test(verifier) || !constantTimeEqual(s256(verifier), issued.codeChallenge))
    return oauthError(400, "invalid_grant", "PKCE verification failed");
  return tokenResponse(await issueTokens(issued.scope, issued.nonce, context));
}

/** Refresh tokens rotate (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): the presented one dies. */
async function refreshGrant(params: URLSearchParams, context: DemoIdpContext): Promise<Response> {
  const known = context.refreshTokens.take(single(params, "refresh_token") ?? "");
  if (known === undefined) return oauthError(400, "invalid_grant", "unknown, expired or used refresh token");
  return tokenResponse(await issueTokens(known.scope, undefined, context));
}

async function issueTokens(
  scope: string,
  nonce: string | undefined,
  context: DemoIdpContext,
): Promise<Record<string, unknown>> {
  const scopes = scope.split(" ");
  const body: Record<string, unknown> = {
    access_token: `demo-access-${random()}`,
    token_type: "Bearer",
    expires_in: ACCESS_TTL_S,
    scope,
  };
  // OIDC Core §11: a refresh token only when offline access was asked for.
  if (scopes.includes("offline_access")) {
    const refreshToken = `demo-refresh-${random()}`;
    context.refreshTokens.set(refreshToken, { scope });
    body.refresh_token = refreshToken;
  }
  // An id_token only at the code exchange, where the nonce is known (OIDC Core §3.1.3.3, §12.2).
  if (scopes.includes("openid") && nonce !== undefined) body.id_token = await idToken(nonce, context);
  return body;
}

function idToken(nonce: string, context: DemoIdpContext): Promise<string> {
  const now = Math.floor(context.now() / 1000);
  return new SignJWT({
    sub: DEMO_SUBJECT,
    email: DEMO_EMAIL,
    email_verified: true,
    azp: context.clientId,
    nonce,
  })
    .setProtectedHeader({ alg: "ES256", kid: context.kid, typ: "JWT" })
    .setIssuer(context.issuer())
    .setAudience(context.clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + ID_TOKEN_TTL_S)
    .sign(context.signingKey);
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

/** RFC 6749 §5.1: token responses must not be cached. */
function tokenResponse(body: Record<string, unknown>): Response {
  return Response.json(body, { headers: { "cache-control": "no-store", pragma: "no-cache" } });
}

function invalidClient(): Response {
  const response = oauthError(401, "invalid_client", "client authentication failed");
  // RFC 6749 §5.2: a 401 names the authentication scheme the client should use.
  response.headers.set("www-authenticate", 'Basic realm="surrogate-demo-idp"');
  return response;
}

export function oauthError(status: number, error: string, description: string): Response {
  return Response.json(
    { error, error_description: `demo IdP: ${description}` },
    { status, headers: { "cache-control": "no-store" } },
  );
}

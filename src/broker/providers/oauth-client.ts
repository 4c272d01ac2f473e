/**
 * THE adapter around arctic (deprecated upstream in July 2026, DESIGN §11): the only module that
 * imports it, so replacing it touches this file alone. arctic builds the authorization URL and
 * performs the token requests; everything it returns is re-checked here (src/providers/token-response.ts)
 * and every failure becomes an IdpError saying where it happened.
 *
 * Known limits of arctic 3.7.0, all inside `sendTokenRequest`:
 * - it calls the global `fetch`; no fetch can be injected, so token requests ignore `deps.fetch`
 *   (discovery and JWKS use it). Tests therefore run against a real stub IdP on a socket.
 * - no AbortSignal: the timeout below abandons the request (the caller gets `idp_network`), but
 *   the socket lives on until Bun's own fetch timeout.
 * - `response.json()` reads the token response without a size cap, and redirects are followed.
 *   The token endpoint is operator-configured (not attacker-chosen), which bounds the risk.
 * - client authentication is always HTTP Basic (client_secret_basic, RFC 6749 §2.3.1) when a
 *   secret is set; IdPs that accept only client_secret_post are not supported through this client.
 */
import {
  ArcticFetchError,
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  type OAuth2Tokens,
  UnexpectedErrorResponseBodyError,
  UnexpectedResponseError,
} from "arctic";
import { IdpError } from "../../core/errors.ts";
import type { AuthorizationRequest, OAuthClient, UpstreamTokens } from "../../core/provider/types.ts";
import type { Secret } from "../../core/secret.ts";
import type { ClientCredentials } from "./idp-request.ts";
import { createIdTokenValidator, type IdTokenRules } from "./oidc.ts";
import { createRevoker, type RevocationMethod } from "./revoke.ts";
import { errorResponse, parseTokenResponse } from "./token-response.ts";

export interface OAuthClientSettings {
  /** Provider name, for error messages. */
  provider: string;
  clientId: string;
  clientSecret?: Secret;
  /** The broker's `issuer + "/callback"`, registered at the IdP. */
  redirectUri: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** How upstream tokens are revoked (./revoke.ts). */
  revocation: RevocationMethod;
  /** Profile-defined extras (e.g. Google's `access_type=offline`); never override the core parameters. */
  authorizationParams?: Record<string, string>;
  /** Present for OIDC providers: how their id_tokens are checked. */
  idToken?: IdTokenRules;
  /** RFC 9207 issuer identifier, when it is one fixed string. */
  issuer?: string;
  /** RFC 9207 §2.4: the IdP advertised `iss` on authorization responses; only with `issuer`. */
  requireIss?: boolean;
  /** Token-request timeout, ms (default 30 000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createOAuthClient(
  settings: OAuthClientSettings,
  deps: { fetch: typeof fetch; now: () => number },
): OAuthClient {
  // The secret is revealed once into arctic's private field; that object never leaves this closure.
  const client = new OAuth2Client(
    settings.clientId,
    settings.clientSecret?.reveal() ?? null,
    settings.redirectUri,
  );
  const where = (grant: string) => `provider ${settings.provider}: token endpoint (${grant})`;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const credentials: ClientCredentials = {
    clientId: settings.clientId,
    ...(settings.clientSecret && { clientSecret: settings.clientSecret }),
    method: "client_secret_basic",
  };
  const oauth: OAuthClient = {
    authorizationUrl: async (request) => authorizationUrl(client, settings, request),
    exchangeCode: (code, codeVerifier) =>
      tokenRequest(where("authorization_code"), timeoutMs, () =>
        client.validateAuthorizationCode(settings.tokenEndpoint, code.reveal(), codeVerifier.reveal()),
      ),
    // No scope on refresh: RFC 6749 §6 then grants the original scope, never more.
    refresh: (refreshToken) =>
      tokenRequest(where("refresh_token"), timeoutMs, () =>
        client.refreshAccessToken(settings.tokenEndpoint, refreshToken.reveal(), []),
      ),
    revokeToken: createRevoker(settings.revocation, credentials, settings.provider, {
      fetch: deps.fetch,
      timeoutMs,
    }),
  };
  if (settings.idToken !== undefined) oauth.validateIdToken = createIdTokenValidator(settings.idToken, deps);
  if (settings.issuer === undefined) return oauth;
  return { ...oauth, issuer: settings.issuer, ...(settings.requireIss === true && { requireIss: true }) };
}

/**
 * Authorization-code request (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636 §4.3; `plain` would expose
 * the verifier to whoever sees the URL), the caller's `state` (CSRF, §10.12) and, for OIDC, the
 * `nonce` that the id_token must echo (OIDC Core §3.1.2.1).
 */
function authorizationUrl(
  client: OAuth2Client,
  settings: OAuthClientSettings,
  request: AuthorizationRequest,
): URL {
  const url = client.createAuthorizationURLWithPKCE(
    settings.authorizationEndpoint,
    request.state,
    CodeChallengeMethod.S256,
    request.codeVerifier.reveal(),
    request.scopes,
  );
  if (request.nonce !== undefined) url.searchParams.set("nonce", request.nonce);
  for (const [name, value] of Object.entries(settings.authorizationParams ?? {})) {
    if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  }
  return url;
}

async function tokenRequest(
  where: string,
  timeoutMs: number,
  send: () => Promise<OAuth2Tokens>,
): Promise<UpstreamTokens> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IdpError("idp_network", `${where}: no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  try {
    const tokens = await Promise.race([send(), timeout]);
    return parseTokenResponse(tokens.data, where);
  } catch (error) {
    throw toIdpError(error, where);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * arctic's errors carry the IdP's response body (`data`, `description`); none of it is copied or
 * attached as `cause`, since an IdP may echo the code or tokens back. Only the error code and the
 * HTTP status survive.
 */
function toIdpError(error: unknown, where: string): IdpError {
  if (error instanceof IdpError) return error;
  if (error instanceof OAuth2RequestError) return errorResponse(error.code, where);
  if (error instanceof ArcticFetchError) {
    return new IdpError("idp_network", `${where}: the identity provider is unreachable`, {
      cause: error.cause,
    });
  }
  if (error instanceof UnexpectedErrorResponseBodyError) {
    return new IdpError("idp_unexpected_response", `${where}: HTTP ${error.status} with an unusable body`);
  }
  if (error instanceof UnexpectedResponseError) {
    return new IdpError(
      "idp_unexpected_response",
      `${where}: unexpected HTTP ${error.status} or a body that is not JSON`,
    );
  }
  return new IdpError("idp_unexpected_response", `${where}: the token request failed unexpectedly`);
}

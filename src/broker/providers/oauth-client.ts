/**
 * THE adapter around arctic (deprecated upstream in July 2026, DESIGN §11): the only module that
 * imports it, so replacing it touches this file alone. arctic builds the authorization URL with its
 * PKCE S256 challenge. Token and revocation requests are made by ./token-request.ts and ./revoke.ts
 * instead, because arctic 3.7.0's sendTokenRequest
 * - discards the body of every error status but 400 and 401, so Atlassian's 403 `invalid_grant`
 *   could not be told from an outage;
 * - authenticates clients with HTTP Basic only, while some vendors document body credentials;
 * - calls the global `fetch` without an AbortSignal, reads bodies without a cap, follows redirects.
 * Everything an IdP returns is re-checked (./token-response.ts); every failure is an IdpError saying
 * where it happened.
 */
import { CodeChallengeMethod, OAuth2Client } from "arctic";
import type { ClientAuthMethod } from "../../core/provider/kinds.ts";
import type { AuthorizationRequest, OAuthClient } from "../../core/provider/types.ts";
import type { Secret } from "../../core/secret.ts";
import type { ClientCredentials } from "./idp-request.ts";
import { createIdTokenValidator, type IdTokenRules } from "./oidc.ts";
import { createRevoker, type RevocationMethod } from "./revoke.ts";
import { requestTokens } from "./token-request.ts";
import type { TokenShape } from "./token-response.ts";

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
  /** The authorization parameter carrying the scopes (Slack asks a person's scopes in `user_scope`). */
  scopeParam?: "scope" | "user_scope";
  /** Between scopes in that parameter (RFC 6749 §3.3: a space; Slack: a comma). */
  scopeSeparator?: " " | ",";
  /** How token responses are laid out (default rfc6749). */
  tokenShape?: TokenShape;
  /** RFC 6749 §2.3.1 client authentication at the token endpoint (default client_secret_basic). */
  clientAuth?: ClientAuthMethod;
  /** Token-request timeout, ms (default 30 000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createOAuthClient(
  settings: OAuthClientSettings,
  deps: { fetch: typeof fetch; now: () => number },
): OAuthClient {
  // arctic only builds authorization URLs here: it is given no secret.
  const client = new OAuth2Client(settings.clientId, null, settings.redirectUri);
  const where = (grant: string) => `provider ${settings.provider}: token endpoint (${grant})`;
  const transport = { fetch: deps.fetch, timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  const credentials: ClientCredentials = {
    clientId: settings.clientId,
    ...(settings.clientSecret && { clientSecret: settings.clientSecret }),
    method: settings.clientAuth ?? "client_secret_basic",
  };
  const endpoint = {
    url: settings.tokenEndpoint,
    client: credentials,
    shape: settings.tokenShape ?? "rfc6749",
  };
  const oauth: OAuthClient = {
    authorizationUrl: async (request) => authorizationUrl(client, settings, request),
    exchangeCode: (code, codeVerifier) =>
      requestTokens(
        endpoint,
        {
          grant_type: "authorization_code",
          code: code.reveal(),
          redirect_uri: settings.redirectUri,
          code_verifier: codeVerifier.reveal(),
        },
        where("authorization_code"),
        transport,
      ),
    // No scope on refresh: RFC 6749 §6 then grants the original scope, never more.
    refresh: (refreshToken) =>
      requestTokens(
        endpoint,
        { grant_type: "refresh_token", refresh_token: refreshToken.reveal() },
        where("refresh_token"),
        transport,
      ),
    revokeToken: createRevoker(settings.revocation, credentials, settings.provider, transport),
  };
  if (settings.idToken !== undefined) oauth.validateIdToken = createIdTokenValidator(settings.idToken, deps);
  if (settings.issuer === undefined) return oauth;
  return { ...oauth, issuer: settings.issuer, ...(settings.requireIss === true && { requireIss: true }) };
}

/**
 * Authorization-code request (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636 §4.3; `plain` would expose
 * the verifier to whoever sees the URL), the caller's `state` (CSRF, §10.12) and, for OIDC, the
 * `nonce` that the id_token must echo (OIDC Core §3.1.2.1). Scopes are joined here, not by arctic,
 * because some vendors want another parameter or separator (the profile says which).
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
    [],
  );
  if (request.scopes.length > 0)
    url.searchParams.set(settings.scopeParam ?? "scope", request.scopes.join(settings.scopeSeparator ?? " "));
  if (request.nonce !== undefined) url.searchParams.set("nonce", request.nonce);
  for (const [name, value] of Object.entries(settings.authorizationParams ?? {})) {
    if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  }
  return url;
}

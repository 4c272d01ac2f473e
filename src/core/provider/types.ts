import type { Secret } from "../secret.ts";
import type { ProviderKind } from "./kinds.ts";

/** One allow-list entry of a provider's `upstreams` (parsed by ./allowlist.ts). */
export interface UpstreamRule {
  scheme: "https" | "http";
  /** Lower-case host name, or the suffix after `*.` when `wildcard`. */
  host: string;
  port: number;
  wildcard: boolean;
}

/** How the real token is put on the upstream request (parsed by ./inject.ts). Never client-chosen. */
export interface Injection {
  /** Lower-case header name. */
  header: string;
  /** Text before and after the placeholder. */
  prefix: string;
  suffix: string;
  /**
   * Set by the `{basic:USER}` placeholder: the token is sent as the password of RFC 7617 Basic
   * credentials, `base64(USER ":" token)`, instead of verbatim.
   */
  basicUser?: string;
}

/** The token endpoint's answer, with every secret wrapped. */
export interface UpstreamTokens {
  accessToken: Secret;
  tokenType: string;
  /** Seconds, when the IdP said. */
  expiresIn?: number;
  refreshToken?: Secret;
  /** Space-separated scope as granted, when the IdP said. */
  scope?: string;
  idToken?: Secret;
}

export interface AuthorizationRequest {
  state: string;
  codeVerifier: Secret;
  /** Present for OIDC providers. */
  nonce?: string;
  scopes: string[];
}

/** Which kind of upstream token `OAuthClient.revokeToken` is given (RFC 7009 §2.1 `token_type_hint`). */
export type TokenHint = "access_token" | "refresh_token";

/**
 * What became of an upstream revocation. `unsupported`: the provider (or this kind of token at this
 * provider) has no revocation the broker can call, and `reason` says why. `failed`: the call was made
 * and did not succeed. Reasons name the endpoint, HTTP status or the IdP's error code, never a token.
 */
export type RevocationOutcome =
  | { outcome: "revoked" }
  | { outcome: "unsupported"; reason: string }
  | { outcome: "failed"; code: "idp_network" | "idp_error" | "idp_unexpected_response"; reason: string };

/** Everything the broker needs from an identity provider, behind one adapter (src/broker/providers/oauth-client.ts). */
export interface OAuthClient {
  authorizationUrl(request: AuthorizationRequest): Promise<URL>;
  /** Throws IdpError: `idp_network`, `idp_error` (the IdP's own error response), `idp_unexpected_response`. */
  exchangeCode(code: Secret, codeVerifier: Secret): Promise<UpstreamTokens>;
  refresh(refreshToken: Secret): Promise<UpstreamTokens>;
  /**
   * Asks the IdP to revoke an upstream token (RFC 7009, or the vendor's own endpoint). Best effort:
   * never throws, the outcome says what happened (for the audit log).
   */
  revokeToken(token: Secret, hint: TokenHint): Promise<RevocationOutcome>;
  /**
   * Validates an id_token (signature via the IdP's JWKS, iss, aud, azp, nonce, exp) and returns its
   * claims; throws IdpError `id_token_invalid`. Only for OIDC-capable providers.
   */
  validateIdToken?(idToken: Secret, nonce: string): Promise<Record<string, unknown>>;
  /** RFC 9207: the issuer identifier expected in the authorization response's `iss`, when known. */
  readonly issuer?: string;
  /**
   * RFC 9207 §2.4: the IdP advertised `authorization_response_iss_parameter_supported`, so an
   * authorization response without `iss` is refused (only set together with `issuer`).
   */
  readonly requireIss?: boolean;
}

export interface ResolvedProvider {
  name: string;
  kind: ProviderKind;
  upstreams: UpstreamRule[];
  inject: Injection;
  /** For git's smart-HTTP requests (./inject.ts injectionFor), e.g. Basic with the token as password. */
  gitInject?: Injection;
  /** Default scopes requested when the agent asks for none. */
  scopes: string[];
  /** Scopes added to every login, whatever the agent asks (e.g. `offline_access`); absent: none. */
  requiredScopes?: string[];
  /** Whether access tokens are JWTs whose claims are copied into the wrapper. */
  jwtAccessTokens: boolean;
  /** Whether to send a `nonce` and require a valid id_token. */
  oidc: boolean;
  /** Absent for `static` providers (wrappers come from `surrogate seal`). */
  oauth?: OAuthClient;
}

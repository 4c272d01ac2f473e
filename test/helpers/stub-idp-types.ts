/** The stub IdP's public shape (./stub-idp.ts): its modes, options, recorded requests and handle. */
import type { JWTPayload } from "jose";
import type { StubRevocation } from "./stub-idp-revoke.ts";
import type { StubVendor } from "./stub-idp-vendors.ts";

export type StubIdpMode =
  | "normal"
  | "deny"
  | "token_error"
  | "token_500"
  | "token_429"
  | "garbage_json"
  | "bad_id_token_signature"
  | "wrong_aud"
  | "wrong_nonce"
  | "expired_id_token"
  | "wrong_discovery_issuer"
  | "slow"
  | "refresh_refused"
  | "no_rotation"
  | "revoke_unavailable"
  | "revoke_unsupported_type"
  | "revoke_refused";

export interface StubIdpOptions {
  clientId?: string;
  clientSecret?: string;
  /** Issue signed JWT access tokens instead of opaque ones (default false). */
  jwtAccessTokens?: boolean;
  /** Rotate refresh tokens on use (default true); mode `no_rotation` overrides per test. */
  rotateRefreshTokens?: boolean;
  /** Registered redirect URIs; when absent any http(s) URI is accepted (and must match at /token). */
  redirectUris?: string[];
  /** Delay of mode `slow`, ms (default 3000). */
  slowMs?: number;
  /** Access token lifetime, seconds (default 3600). */
  accessTokenTtl?: number;
  /** Clock, epoch ms (default Date.now, so `setSystemTime` applies). */
  now?: () => number;
  /** The id_token signing algorithm (default ES256), also advertised in discovery. */
  signingAlg?: "ES256" | "ES384" | "RS256" | "RS384" | "RS512" | "PS384";
  /** Discovery's `id_token_signing_alg_values_supported` instead of `[signingAlg]`. */
  advertisedAlgs?: string[];
  /** Whose documented behaviour the stub imitates where vendors differ (default `standard`: the RFCs). */
  vendor?: StubVendor;
  /**
   * Whether access tokens expire (default true). False: no `expires_in` and no refresh token, as
   * GitHub OAuth Apps and Slack apps without token rotation answer.
   */
  expiring?: boolean;
  /** Client authentication the token endpoint insists on, also in discovery (default: Basic or body). */
  clientAuth?: "basic" | "post" | "private_key_jwt";
}

export interface StubIdpRequest {
  method: string;
  path: string;
  /** Query and form parameters; values of secret parameters replaced by "[redacted]". */
  params: Record<string, string>;
  /** How the client authenticated at /token. */
  clientAuth?: "basic" | "post" | "none";
}

export interface IssuedTokens {
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
}

export interface StubIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** `sub` of the one user this IdP knows. */
  subject: string;
  requests: StubIdpRequest[];
  /** Calls of the revocation endpoints (./stub-idp-revoke.ts), tokens as received. */
  revocations: StubRevocation[];
  lastIssued: IssuedTokens;
  setMode(mode: StubIdpMode): void;
  /**
   * Holds the next requests until `release()`: `arrived` resolves once one is held, so a test can
   * act while the IdP "thinks" (move its clock) without waiting on a real timer.
   */
  hold(): { arrived: Promise<void>; release: () => void };
  /** Signs arbitrary claims with the IdP's published key (for id_token validation tests). */
  sign(payload: JWTPayload, header?: { alg?: string; kid?: string; typ?: string }): Promise<string>;
  /** Requests an authorization URL (auto-approval) and returns the redirect target it answers with. */
  authorize(url: URL | string): Promise<URL>;
  close(): Promise<void>;
}

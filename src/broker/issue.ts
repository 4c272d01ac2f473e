/**
 * From an IdP token response to what the agent receives: an access wrapper and, when the IdP gave a
 * refresh token or a token that never expires, a refresh wrapper (DESIGN §5). The upstream tokens
 * only ever leave here encrypted.
 */
import { decodeJwt } from "jose";
import type { WrapperBindings } from "../core/access/binding.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider, UpstreamTokens } from "../core/provider/types.ts";
import { newLogin } from "../core/token/login.ts";
import { mintWrapper } from "../core/token/mint.ts";
import type { LoginFacts, MintRequest } from "../core/token/types.ts";

/** RFC 6749 §5.1, with `access_token`/`refresh_token` replaced by wrappers. */
export interface TokenResponseBody {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export interface IssueContext {
  provider: ResolvedProvider;
  /** What each wrapper binds (DESIGN §5), decided from the client and `[[policy]]`. */
  bindings: WrapperBindings;
  requestedScope: string[];
  /** Claims of a validated id_token (or carried over from the refresh wrapper). */
  idClaims?: Record<string, unknown>;
  /** The login being continued (refresh); absent, this is a new login (the callback). */
  login?: LoginFacts;
}

export interface IssueOptions {
  issuer: string;
  tokenTtl: number;
  /** Cap on the refresh wrapper's lifetime, seconds; `tokenTtl` when absent. */
  refreshTtl?: number | undefined;
  /** Epoch milliseconds. */
  now: number;
}

/**
 * Copied claims are a convenience for the agent, and they ride in a header on every proxied
 * request: an access token too big to copy keeps only its identity claims.
 */
const MAX_COPIED_CLAIMS_BYTES = 4096;
const IDENTITY_CLAIMS = ["sub", "email"] as const;

function identityClaims(source: Record<string, unknown> | undefined): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const name of IDENTITY_CLAIMS) {
    if (typeof source?.[name] === "string") claims[name] = source[name];
  }
  return claims;
}

/**
 * The access token's payload, decoded WITHOUT verification: it is copied for the agent to read,
 * never used for a decision here (DESIGN §5). Undefined when the token is not a JWT.
 */
function accessTokenClaims(tokens: UpstreamTokens): Record<string, unknown> | undefined {
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(tokens.accessToken.reveal());
  } catch {
    return undefined;
  }
  if (JSON.stringify(payload).length > MAX_COPIED_CLAIMS_BYTES) return identityClaims(payload);
  return payload;
}

/** An `expires_in` that is not a positive number of seconds says nothing; the ttl cap applies. */
function expiresAt(tokens: UpstreamTokens, now: number): number | undefined {
  const seconds = tokens.expiresIn;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  return Math.floor(now / 1000) + Math.floor(seconds);
}

function copiedClaims(tokens: UpstreamTokens, context: IssueContext): Record<string, unknown> {
  const fromToken = context.provider.jwtAccessTokens ? accessTokenClaims(tokens) : undefined;
  return fromToken ?? identityClaims(context.idClaims);
}

/**
 * What the refresh wrapper seals: the upstream refresh token; or, for a token the IdP gave neither an
 * expiry nor a refresh token (GitHub OAuth Apps, Slack without token rotation: it stays good until
 * revoked), the access token itself with its type, which a refresh re-wraps without calling the IdP
 * (./refresh.ts). Without it the person would approve again every token_ttl; with it the login still
 * ends at auth_time + refresh_ttl like any other. A token with an expiry and no refresh token gets
 * none: it cannot outlive its expiry.
 */
function refreshSecretOf(tokens: UpstreamTokens): MintRequest["secret"] | undefined {
  if (tokens.refreshToken !== undefined) return { token: tokens.refreshToken, type: "refresh" };
  if (tokens.expiresIn === undefined) return { token: tokens.accessToken, type: tokens.tokenType };
  return undefined;
}

export async function issueWrappers(
  tokens: UpstreamTokens,
  context: IssueContext,
  keys: KeySets,
  options: IssueOptions,
): Promise<{ body: TokenResponseBody; jti: string; login: LoginFacts }> {
  const scope = tokens.scope ?? context.requestedScope.join(" ");
  const { bindings } = context;
  const login = context.login ?? newLogin(options.now);
  const common = {
    provider: context.provider.name,
    scope,
    login,
    certificateNotAfter: bindings.certificateNotAfter,
  };
  const access = await mintWrapper(
    {
      ...common,
      kind: "access",
      binding: bindings.access,
      secret: { token: tokens.accessToken, type: tokens.tokenType },
      claims: copiedClaims(tokens, context),
      expiresAt: expiresAt(tokens, options.now),
    },
    keys,
    options,
  );
  const body: TokenResponseBody = {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.exp - Math.floor(options.now / 1000),
    scope,
  };
  const refreshSecret = refreshSecretOf(tokens);
  if (refreshSecret !== undefined) {
    const refresh: MintRequest = {
      ...common,
      kind: "refresh",
      binding: bindings.refresh,
      secret: refreshSecret,
      // Signed by us, so a later refresh can trust these when the IdP sends no new id_token.
      claims: identityClaims(context.idClaims),
      // The absolute bound (issue #15): counted from the login, not from this refresh, so however
      // often the agent refreshes, its person logs in again after refresh_ttl.
      expiresAt: login.authTime + (options.refreshTtl ?? options.tokenTtl),
    };
    const refreshOptions = { ...options, tokenTtl: options.refreshTtl ?? options.tokenTtl };
    body.refresh_token = (await mintWrapper(refresh, keys, refreshOptions)).token;
  }
  return { body, jti: access.jti, login };
}

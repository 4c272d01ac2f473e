import type { Secret } from "../secret.ts";

/** `typ` values (RFC 8725 §3.11: explicit typing, one validation rule set per token kind). */
export const ACCESS_TYP = "surrogate+jwt";
export const REFRESH_TYP = "surrogate-refresh+jwt";
export const ACCESS_AUD = "surrogate";
export const REFRESH_AUD = "surrogate-broker";

export type WrapperKind = "access" | "refresh";

/**
 * What a wrapper is bound to: the one `cnf` member it carries (DESIGN §5). `x5t#S256` names one
 * certificate (RFC 8705 §3.1); `jkt` names a key pair, so it survives certificate renewal (the
 * RFC 7638 thumbprint, as DPoP uses it: RFC 9449 §6.1); `spiffe_id` (refresh wrappers only) names
 * a workload within its trust domain, so it survives SVID rotation. Exactly one per wrapper.
 */
export type BindingKind = "x5t#S256" | "jkt" | "spiffe_id";
export const BINDING_KINDS: readonly BindingKind[] = ["x5t#S256", "jkt", "spiffe_id"];

/** Which `cnf` members each wrapper kind may carry: a SPIFFE ID alone never admits a request. */
export const BINDINGS_OF: Readonly<Record<WrapperKind, readonly BindingKind[]>> = {
  access: ["x5t#S256", "jkt"],
  refresh: ["x5t#S256", "spiffe_id"],
};

export interface Binding {
  kind: BindingKind;
  /** base64url SHA-256 (of the certificate's DER, or of the key's RFC 7638 members), or the SPIFFE ID. */
  value: string;
}

/** What set a wrapper's `exp` (the `exp_bound` claim, shown by `surrogate inspect`). */
export type ExpiryBound = "token_ttl" | "upstream" | "certificate";

/** The plaintext of `tok` (DESIGN §5). */
export interface SealedSecret {
  token: Secret;
  /** `token_type` of the upstream token (e.g. "Bearer"), or "refresh" for refresh wrappers. */
  type: string;
}

/**
 * The person's login a wrapper descends from (DESIGN §5): `auth_time` (OIDC Core §2's name, epoch
 * seconds) bounds how long refreshes may go on, and `sid` names the login so that one revocation
 * reaches every wrapper minted from it, refreshed ones included.
 */
export interface LoginFacts {
  /** Epoch seconds of the person's login. */
  authTime: number;
  /** Random login identifier, shared by every wrapper descending from the login. */
  sid: string;
}

export interface MintRequest {
  kind: WrapperKind;
  /** Provider name (`prv`). */
  provider: string;
  /** The `cnf` member to write: one of BINDINGS_OF[kind]. */
  binding: Binding;
  secret: SealedSecret;
  /** Claims copied from the original token (decoded, not trusted); broker-owned claims override them. */
  claims?: Record<string, unknown>;
  /** Space-separated scope as granted. */
  scope?: string;
  /** Upstream expiry in epoch seconds, if known (undefined: not known); `exp` is min(this, now + token_ttl). */
  expiresAt?: number | undefined;
  /** The login this wrapper descends from; absent, the wrapper starts a login of its own (seal). */
  login?: LoginFacts;
  /** `notAfter` (epoch seconds) of the certificate an `x5t#S256` binding names: `exp` never exceeds it. */
  certificateNotAfter?: number;
}

export interface MintOptions {
  issuer: string;
  /** Cap on lifetime, seconds. */
  tokenTtl: number;
  /** Epoch milliseconds (injected clock). */
  now: number;
}

export interface MintedWrapper {
  token: string;
  jti: string;
  login: LoginFacts;
  /** Epoch seconds. */
  exp: number;
  expBound: ExpiryBound;
}

/** A wrapper whose signature, `typ`, `iss`, `aud`, `exp` and `nbf` checked out. `tok` is still sealed. */
export interface VerifiedWrapper {
  kind: WrapperKind;
  kid: string;
  provider: string;
  jti: string;
  /** Epoch seconds. */
  iat: number;
  exp: number;
  /** Epoch seconds of the login this wrapper descends from. */
  authTime: number;
  sid: string;
  binding: Binding;
  scope?: string;
  claims: Readonly<Record<string, unknown>>;
  /** The compact JWE from `tok`; open it with `openWrapper` only after the binding has been checked. */
  sealed: string;
}

export interface VerifyOptions {
  issuer: string;
  /** Epoch milliseconds. */
  now: number;
}

import { createRemoteJWKSet, customFetch, errors, type JWTPayload, jwtVerify } from "jose";
import { IdpError } from "../../core/errors.ts";
import { boundedFetch } from "../../core/io/bounded-fetch.ts";
import { BodyTooLargeError } from "../../core/io/read-capped.ts";
import { constantTimeEqual, type Secret } from "../../core/secret.ts";

/** What an id_token must satisfy (OIDC Core §3.1.3.7). */
export interface IdTokenRules {
  /** Provider name, for messages. */
  provider: string;
  /** Exact expected `iss`; `{tenantid}` in it stands for the token's own GUID `tid` (Entra multi-tenant). */
  issuer: string;
  /** Other spellings of the same issuer the IdP documents as valid `iss` (Google: `accounts.google.com`). */
  issuerAliases?: string[];
  clientId: string;
  jwksUri: string;
  /** Accepted `alg` values, from discovery (./discovery.ts); default DEFAULT_ALGORITHMS. */
  algorithms?: string[];
}

export type IdTokenValidator = (idToken: Secret, nonce: string) => Promise<Record<string, unknown>>;

/**
 * Asymmetric algorithms only: `none` and HMAC (which would make the client secret a signing key, OIDC
 * Core §10.1) are never accepted, whatever the token's header or the IdP's metadata says (RFC 8725
 * §3.1). Which of these a provider uses comes from its discovery document.
 */
const ASYMMETRIC: ReadonlySet<string> = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
]);
/** Without metadata (fixed-endpoint profiles): RS256 is OIDC's default (Core §3.1.3.7 (7)), plus common ones. */
const DEFAULT_ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"];

/**
 * The usable part of discovery's `id_token_signing_alg_values_supported`: undefined when the document
 * has no such list, an empty list when it names no asymmetric algorithm (the caller refuses that).
 */
export function asymmetricAlgorithms(advertised: unknown): string[] | undefined {
  if (!Array.isArray(advertised)) return undefined;
  return advertised.filter((alg): alg is string => typeof alg === "string" && ASYMMETRIC.has(alg));
}
/** OIDC Core §3.1.3.7 (9, 10) allow "a small leeway" for clock skew. */
const CLOCK_TOLERANCE_S = 60;
const TENANT_PLACEHOLDER = "{tenantid}";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JWKS_LIMITS = { timeoutMs: 5_000, maxBytes: 256 * 1024 };

/**
 * Builds the id_token check of one provider. The JWKS is fetched lazily from `jwksUri` (never from
 * a URL in the token), cached 10 min, and re-fetched at most every 30 s when a token names an unknown
 * `kid` (key rotation without letting forged kids hammer the IdP).
 */
export function createIdTokenValidator(
  rules: IdTokenRules,
  deps: { fetch: typeof fetch; now: () => number },
): IdTokenValidator {
  const jwks = createRemoteJWKSet(new URL(rules.jwksUri), {
    timeoutDuration: JWKS_LIMITS.timeoutMs,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
    [customFetch]: boundedFetch(deps.fetch, JWKS_LIMITS),
  });
  const templated = rules.issuer.includes(TENANT_PLACEHOLDER);
  return async (idToken, nonce) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken.reveal(), jwks, {
        algorithms: rules.algorithms ?? DEFAULT_ALGORITHMS,
        ...(templated ? {} : { issuer: [rules.issuer, ...(rules.issuerAliases ?? [])] }),
        audience: rules.clientId,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
        currentDate: new Date(deps.now()),
      }));
    } catch (error) {
      throw joseFailure(error, rules.provider);
    }
    checkClaims(payload, rules, nonce);
    return { ...payload };
  };
}

function checkClaims(payload: JWTPayload, rules: IdTokenRules, nonce: string): void {
  const fail = (reason: string) => invalid(rules.provider, reason);
  if (rules.issuer.includes(TENANT_PLACEHOLDER)) {
    const tid = payload.tid;
    if (typeof tid !== "string" || !GUID.test(tid))
      throw fail("the tid claim is missing or not a tenant GUID");
    if (payload.iss !== rules.issuer.replace(TENANT_PLACEHOLDER, tid))
      throw fail("the iss claim does not match its tenant");
  }
  // OIDC Core §3.1.3.7 (4, 5): with several audiences the authorized party must be us; when azp is
  // present at all it must be us, or a token issued to another client could be replayed here.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (payload.azp !== undefined && payload.azp !== rules.clientId)
    throw fail("the azp claim names another client");
  if (audiences.length > 1 && payload.azp === undefined) throw fail("several audiences but no azp claim");
  // §3.1.3.7 (11): the nonce binds the token to this browser session; compared in constant time.
  if (nonce === "" || typeof payload.nonce !== "string" || !constantTimeEqual(payload.nonce, nonce)) {
    throw fail("the nonce claim does not match the authorization request");
  }
}

/** jose's errors describe claims by name only; its `payload` fields are never carried along. */
function joseFailure(error: unknown, provider: string): IdpError {
  if (error instanceof errors.JWKSTimeout) {
    return new IdpError("idp_network", `provider ${provider}: the JWKS endpoint did not answer in time`);
  }
  if (error instanceof errors.JWTExpired) return invalid(provider, "the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return invalid(provider, `the ${error.claim} claim is invalid (${error.reason})`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid(provider, "the signature does not verify");
  if (error instanceof errors.JWKSNoMatchingKey)
    return invalid(provider, "no key of the IdP's JWKS matches the token");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return invalid(provider, "the signing algorithm is not allowed");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return invalid(provider, "malformed token");
  if (error instanceof errors.JWKSInvalid || error instanceof BodyTooLargeError || isPlainJoseError(error)) {
    return new IdpError(
      "idp_unexpected_response",
      `provider ${provider}: the IdP's JWKS endpoint gave no usable key set`,
    );
  }
  if (error instanceof errors.JOSEError)
    return invalid(provider, `the token cannot be verified (${error.code})`);
  return new IdpError("idp_network", `provider ${provider}: the IdP's JWKS could not be fetched`);
}

/** jose reports a non-200 or non-JSON JWKS response with its base class and generic code. */
function isPlainJoseError(error: unknown): boolean {
  return error instanceof errors.JOSEError && error.code === "ERR_JOSE_GENERIC";
}

function invalid(provider: string, reason: string): IdpError {
  return new IdpError("id_token_invalid", `provider ${provider}: id_token rejected: ${reason}`);
}

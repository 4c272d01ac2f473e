import { invalid, isRecord } from "./compact.ts";
import { ACCESS_AUD, REFRESH_AUD, type VerifiedWrapper, type WrapperKind } from "./types.ts";

/** Tolerated clock difference between broker and proxy hosts, seconds. */
export const CLOCK_TOLERANCE = 60;

/**
 * The longest life any wrapper may claim, seconds: `surrogate seal` and `refresh_ttl` accept at
 * most 366 days. A longer-lived wrapper (from another implementation, or a leaked signing key) is
 * refused rather than trusted for as long as it says (RFC 8725 §3.10 spirit: bound what you accept).
 */
export const MAX_LIFETIME = 366 * 24 * 3600;

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const MAX_NAME_LENGTH = 256;

/**
 * Type checks on a payload whose signature already verified: jose checks values, not every
 * shape, and downstream code relies on these types (RFC 7519 §2 NumericDate; RFC 8705 §3.1 cnf).
 */
export function claimsOf(
  payload: Record<string, unknown>,
  kind: WrapperKind,
  kid: string,
  now: number,
): VerifiedWrapper {
  // jose accepts an array `aud` containing ours; the wrapper format has exactly one string.
  if (payload.aud !== (kind === "access" ? ACCESS_AUD : REFRESH_AUD)) throw invalid("wrapper: aud rejected");
  const exp = numericDate(payload, "exp");
  numericDate(payload, "nbf");
  const iat = numericDate(payload, "iat");
  // A token "issued" in the future beyond tolerated skew was not issued by a sane clock.
  if (iat > now / 1000 + CLOCK_TOLERANCE) throw invalid("wrapper: iat in the future");
  if (exp - iat > MAX_LIFETIME) throw invalid("wrapper: lifetime longer than 366 days");
  const { tok, ...claims } = payload;
  if (typeof tok !== "string" || tok === "") throw invalid("wrapper: tok missing");
  if (payload.scope !== undefined && typeof payload.scope !== "string")
    throw invalid("wrapper: scope not a string");
  return {
    kind,
    kid,
    provider: name(payload, "prv"),
    jti: name(payload, "jti"),
    exp,
    thumbprint: thumbprintOf(payload.cnf),
    ...(payload.scope === undefined ? {} : { scope: payload.scope }),
    claims: Object.freeze(claims),
    sealed: tok,
  };
}

function numericDate(payload: Record<string, unknown>, claim: string): number {
  const value = payload[claim];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 2 ** 53) {
    throw invalid(`wrapper: ${claim} is not a NumericDate`);
  }
  return value;
}

function name(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (typeof value !== "string" || value === "" || value.length > MAX_NAME_LENGTH) {
    throw invalid(`wrapper: ${claim} is not a non-empty string`);
  }
  return value;
}

function thumbprintOf(cnf: unknown): string {
  if (!isRecord(cnf)) throw invalid("wrapper: cnf missing");
  const thumbprint = cnf["x5t#S256"];
  if (typeof thumbprint !== "string" || !THUMBPRINT.test(thumbprint))
    throw invalid("wrapper: cnf.x5t#S256 invalid");
  return thumbprint;
}

import { parseSpiffeId } from "../identity/spiffe.ts";
import { invalid, isRecord } from "./compact.ts";
import {
  ACCESS_AUD,
  BINDING_KINDS,
  BINDINGS_OF,
  type Binding,
  type BindingKind,
  REFRESH_AUD,
  type VerifiedWrapper,
  type WrapperKind,
} from "./types.ts";

/**
 * Tolerated clock difference between broker and proxy hosts, seconds (RFC 7519 §4.1.4 allows "some
 * small leeway"). The instances of one deployment share a clock source (NTP), so a few seconds
 * cover their drift; more would keep an expired wrapper usable (docs/configuration.md, token_ttl).
 */
export const CLOCK_TOLERANCE = 5;

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
  const authTime = loginTime(payload, iat, exp);
  const { tok, ...claims } = payload;
  if (typeof tok !== "string" || tok === "") throw invalid("wrapper: tok missing");
  if (payload.scope !== undefined && typeof payload.scope !== "string")
    throw invalid("wrapper: scope not a string");
  return {
    kind,
    kid,
    provider: name(payload, "prv"),
    jti: name(payload, "jti"),
    iat,
    exp,
    authTime,
    sid: name(payload, "sid"),
    binding: bindingOf(payload.cnf, kind),
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

/**
 * `auth_time` (DESIGN §5) bounds refreshing (auth_time + refresh_ttl), so it must be a real time no
 * later than the wrapper itself, and no login may be stretched past the longest life any wrapper
 * may claim: a wrapper whose login claims more is not one our rules produced.
 */
function loginTime(payload: Record<string, unknown>, iat: number, exp: number): number {
  const authTime = numericDate(payload, "auth_time");
  if (authTime > iat) throw invalid("wrapper: auth_time after iat");
  if (exp - authTime > MAX_LIFETIME) throw invalid("wrapper: login older than 366 days");
  return authTime;
}

function name(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (typeof value !== "string" || value === "" || value.length > MAX_NAME_LENGTH) {
    throw invalid(`wrapper: ${claim} is not a non-empty string`);
  }
  return value;
}

/**
 * `cnf` holds exactly one known member. Two would leave the choice of rule to whoever checks
 * (RFC 8725 §2.8 spirit: one validation rule per token); an unknown member is a binding we cannot
 * check, and ignoring it would turn a bound token into a bearer token (RFC 7800 §3.1).
 */
function bindingOf(cnf: unknown, wrapper: WrapperKind): Binding {
  if (!isRecord(cnf)) throw invalid("wrapper: cnf missing");
  const members = Object.keys(cnf);
  const kind = members[0];
  const allowed = BINDINGS_OF[wrapper];
  if (members.length !== 1 || !isBindingKind(kind) || !allowed.includes(kind))
    throw invalid(`wrapper: cnf must hold exactly one of ${allowed.join(", ")}`);
  const value = cnf[kind];
  if (typeof value !== "string" || !validBindingValue(kind, value))
    throw invalid(`wrapper: cnf.${kind} invalid`);
  return { kind, value };
}

function validBindingValue(kind: BindingKind, value: string): boolean {
  if (kind !== "spiffe_id") return THUMBPRINT.test(value);
  try {
    return parseSpiffeId(value) === value;
  } catch {
    return false;
  }
}

function isBindingKind(member: string | undefined): member is BindingKind {
  return BINDING_KINDS.some((kind) => kind === member);
}

import { errors, jwtVerify } from "jose";
import type { KeySets, VerificationKey } from "../keys/types.ts";
import { CLOCK_TOLERANCE, claimsOf } from "./claims.ts";
import { allowOnly, decodeJsonObject, invalid, MAX_WRAPPER_LENGTH, splitCompact } from "./compact.ts";
import {
  ACCESS_AUD,
  ACCESS_TYP,
  REFRESH_AUD,
  REFRESH_TYP,
  type VerifiedWrapper,
  type VerifyOptions,
  type WrapperKind,
} from "./types.ts";

/**
 * The header is exactly what DESIGN §5 defines. Everything else is refused, not ignored: `jwk`,
 * `jku`, `x5u`, `x5c`, `x5t` would let the token pick its own key (RFC 8725 §3.10), `crit` and
 * `b64` change how the token is processed (RFC 7515 §4.1.11, RFC 7797), `zip` invites
 * compression side channels (RFC 8725 §3.6).
 */
const HEADER_PARAMS = ["alg", "kid", "typ"] as const;

/**
 * Verifies a wrapper per RFC 8725: bounded size before any work, strict compact form and JSON,
 * explicit `typ` (§3.11), key chosen by `kid` from our own set with its algorithm fixed by that
 * key (§3.1), then signature, `iss`, `aud`, `exp`, `nbf`. Every failure is `invalid_token`.
 */
export async function verifyWrapper(
  token: string,
  expected: WrapperKind,
  keys: KeySets,
  options: VerifyOptions,
): Promise<VerifiedWrapper> {
  if (typeof token !== "string" || token.length > MAX_WRAPPER_LENGTH) throw invalid("wrapper too large");
  const [headerPart, payloadPart] = splitCompact(token, 3, "wrapper");
  const header = decodeJsonObject(headerPart!, "wrapper header");
  const key = keyFor(header, expected, keys);
  const payload = decodeJsonObject(payloadPart!, "wrapper payload");
  await checkSignature(token, key, expected, options);
  return claimsOf(payload, expected, key.kid, options.now);
}

function keyFor(header: Record<string, unknown>, expected: WrapperKind, keys: KeySets): VerificationKey {
  allowOnly(header, HEADER_PARAMS, "wrapper");
  const typ = expected === "access" ? ACCESS_TYP : REFRESH_TYP;
  if (header.typ !== typ) throw invalid(`wrapper: typ must be ${typ}`);
  if (typeof header.kid !== "string") throw invalid("wrapper: missing kid");
  const key = keys.verifiers.get(header.kid);
  if (key === undefined) throw invalid("wrapper: unknown kid");
  // The header's alg is only compared with the key's, never used to choose a verifier (RFC 8725 §3.1).
  if (header.alg !== key.alg) throw invalid("wrapper: alg does not match the key");
  return key;
}

async function checkSignature(
  token: string,
  key: VerificationKey,
  expected: WrapperKind,
  options: VerifyOptions,
) {
  try {
    await jwtVerify(token, key.key, {
      algorithms: [key.alg],
      issuer: options.issuer,
      audience: expected === "access" ? ACCESS_AUD : REFRESH_AUD,
      typ: expected === "access" ? ACCESS_TYP : REFRESH_TYP,
      clockTolerance: CLOCK_TOLERANCE,
      currentDate: new Date(options.now),
      requiredClaims: ["iss", "aud", "exp", "nbf", "iat", "jti"],
    });
  } catch (error) {
    throw invalid(reasonOf(error));
  }
}

/** Short, fixed messages: jose's own texts are fine but a fixed set keeps responses predictable. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "wrapper expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return `wrapper: claim ${error.claim} missing`;
    return error.claim === "nbf" ? "wrapper not yet valid" : `wrapper: claim ${error.claim} rejected`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "wrapper: signature verification failed";
  return "wrapper rejected";
}

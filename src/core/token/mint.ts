import { CompactSign } from "jose";
import { TokenError } from "../errors.ts";
import { parseSpiffeId } from "../identity/spiffe.ts";
import type { KeySets } from "../keys/types.ts";
import { MAX_WRAPPER_LENGTH } from "./compact.ts";
import { newLogin } from "./login.ts";
import { sealSecret } from "./seal.ts";
import {
  ACCESS_AUD,
  ACCESS_TYP,
  BINDING_KINDS,
  BINDINGS_OF,
  type ExpiryBound,
  type MintedWrapper,
  type MintOptions,
  type MintRequest,
  REFRESH_AUD,
  REFRESH_TYP,
} from "./types.ts";

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();

/**
 * Copied claims that are dropped rather than passed on. `act` / `may_act` (RFC 8693 §4.1, §4.4)
 * assert delegation: copied from an untrusted upstream token they would let the wrapper claim
 * an actor chain the broker never verified. `scope` is broker-owned ("as granted", DESIGN §5):
 * an upstream `scope` of another shape would otherwise survive when no scope was granted.
 * The other broker-owned claims are overridden anyway.
 */
const DROPPED_CLAIMS = new Set(["act", "may_act", "scope"]);

/** Mints a wrapper (DESIGN §5): copied claims first, broker-owned claims override them. */
export async function mintWrapper(
  request: MintRequest,
  keys: KeySets,
  options: MintOptions,
): Promise<MintedWrapper> {
  const signer = keys.signer;
  if (signer === undefined) throw failure("this instance has no signing key");
  checkRequest(request, options);
  const iat = Math.floor(options.now / 1000);
  const { exp, bound } = expiryOf(request, options, iat);
  const jti = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  const login = request.login ?? newLogin(options.now);
  const payload = {
    ...copiedClaims(request.claims),
    ...(request.scope === undefined ? {} : { scope: request.scope }),
    iss: options.issuer,
    aud: request.kind === "access" ? ACCESS_AUD : REFRESH_AUD,
    iat,
    nbf: iat,
    exp,
    // What set `exp`, for people (`surrogate inspect`); refresh wrappers count from the login.
    ...(request.kind === "access" ? { exp_bound: bound } : {}),
    jti,
    auth_time: login.authTime,
    sid: login.sid,
    prv: request.provider,
    cnf: { [request.binding.kind]: request.binding.value },
    tok: await sealSecret(request.secret, keys),
  };
  const token = await new CompactSign(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader({
      alg: signer.alg,
      kid: signer.kid,
      typ: request.kind === "access" ? ACCESS_TYP : REFRESH_TYP,
    })
    .sign(signer.key);
  // Never hand out a wrapper that every verifier would refuse.
  if (token.length > MAX_WRAPPER_LENGTH)
    throw failure("wrapper would exceed the size limit; copied claims too large");
  return { token, jti, exp, expBound: bound, login };
}

/**
 * `exp` = min(now + token_ttl, upstream expiry, bound certificate's notAfter): the wrapper never
 * outlives any of them (a wrapper bound to an expired certificate could not be used anyway, and
 * saying so keeps SPIFFE's revocation-by-expiry visible). Ties go to the first in that order.
 */
function expiryOf(request: MintRequest, options: MintOptions, iat: number) {
  const candidates: Array<[ExpiryBound, number | undefined]> = [
    ["token_ttl", iat + Math.floor(options.tokenTtl)],
    ["upstream", request.expiresAt],
    ["certificate", request.binding.kind === "x5t#S256" ? request.certificateNotAfter : undefined],
  ];
  let exp = Number.POSITIVE_INFINITY;
  let bound: ExpiryBound = "token_ttl";
  for (const [name, value] of candidates) {
    if (value !== undefined && Math.floor(value) < exp) [exp, bound] = [Math.floor(value), name];
  }
  if (exp <= iat)
    throw failure(bound === "certificate" ? "certificate already expired" : "upstream token already expired");
  return { exp, bound };
}

function checkRequest(request: MintRequest, options: MintOptions): void {
  if (!Number.isFinite(options.now) || !Number.isFinite(options.tokenTtl) || options.tokenTtl <= 0) {
    throw failure("bad clock or token_ttl");
  }
  if (request.expiresAt !== undefined && !Number.isFinite(request.expiresAt)) throw failure("bad expiresAt");
  if (request.certificateNotAfter !== undefined && !Number.isFinite(request.certificateNotAfter))
    throw failure("bad certificateNotAfter");
  if (request.provider === "") throw failure("empty provider name");
  const login = request.login;
  if (login !== undefined && (!Number.isInteger(login.authTime) || login.authTime < 0 || login.sid === "")) {
    throw failure("bad login (auth_time, sid)");
  }
  if (login !== undefined && login.authTime * 1000 > options.now) throw failure("auth_time in the future");
  checkBinding(request);
  // A refresh token must never ride in an access wrapper: the proxy would send it upstream. A refresh
  // wrapper holds a refresh token, or a never-expiring access token with its own type (DESIGN §5).
  if (request.secret.type === "" || (request.kind === "access" && request.secret.type === "refresh")) {
    throw failure('secret type must be non-empty, and "refresh" only in refresh wrappers');
  }
}

/** Never mint a wrapper its verifier would refuse (./claims.ts applies the same rules). */
function checkBinding(request: MintRequest): void {
  const { kind, value } = request.binding;
  if (!BINDING_KINDS.includes(kind)) throw failure("unknown binding kind");
  if (!BINDINGS_OF[request.kind].includes(kind))
    throw failure(`${request.kind} wrappers cannot bind ${kind}`);
  if (kind === "spiffe_id") {
    try {
      parseSpiffeId(value);
    } catch {
      throw failure("binding spiffe_id is not a valid SPIFFE ID");
    }
  } else if (!THUMBPRINT.test(value)) throw failure(`binding ${kind} is not a base64url SHA-256`);
}

/** Object.fromEntries defines own properties, so a copied "__proto__" claim stays data, not a prototype. */
function copiedClaims(claims: Record<string, unknown> | undefined): Record<string, unknown> {
  if (claims === undefined) return {};
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !DROPPED_CLAIMS.has(name)));
}

function failure(message: string): TokenError {
  return new TokenError("server_error", `mint: ${message}`);
}

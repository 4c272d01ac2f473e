import { type CryptoKey, importJWK, type JWK } from "jose";
import { KeysError } from "../errors.ts";
import type { EncryptionKey, SigningAlg, VerificationKey } from "./types.ts";

const MAX_KID_LENGTH = 128;
const KID = /^[\x21-\x7e]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** One private signing key: the key that signs and the public half that verifies. */
export interface SigningKeyPair {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  verifier: VerificationKey;
  /** Public members only, for `/.well-known/jwks.json`. */
  publicJwk: JWK;
}

/** `where` names the source and key position for error messages; it never carries key material. */
export function readKid(jwk: Record<string, unknown>, where: string): string {
  const kid = jwk.kid;
  if (typeof kid !== "string" || kid === "") throw new KeysError(`${where}: missing "kid"`);
  if (kid.length > MAX_KID_LENGTH || !KID.test(kid)) {
    throw new KeysError(`${where}: "kid" must be 1-${MAX_KID_LENGTH} printable ASCII characters`);
  }
  return kid;
}

/**
 * The algorithm is fixed by the key type (RFC 8725 §3.1: one key, one algorithm); a JWK `alg`
 * that disagrees is refused rather than silently overridden.
 */
function signingAlgOf(jwk: Record<string, unknown>, where: string): SigningAlg {
  if (jwk.kty === "EC" && jwk.crv === "P-256") return checkDeclared(jwk, ["ES256"], "ES256", where);
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519")
    return checkDeclared(jwk, ["EdDSA", "Ed25519"], "EdDSA", where);
  throw new KeysError(`${where}: signing keys must be EC P-256 or OKP Ed25519`);
}

function checkDeclared(
  jwk: Record<string, unknown>,
  ok: string[],
  alg: SigningAlg,
  where: string,
): SigningAlg {
  if (jwk.alg !== undefined && !ok.includes(String(jwk.alg))) {
    throw new KeysError(`${where}: "alg" does not match the key type (expected ${alg})`);
  }
  if (jwk.use !== undefined && jwk.use !== "sig") throw new KeysError(`${where}: "use" must be "sig"`);
  return alg;
}

/** Copies only the public members by name, so a private member can never leak into the published set. */
function publicPart(jwk: Record<string, unknown>, kid: string, alg: SigningAlg): JWK {
  const base = { kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x) };
  const point = jwk.kty === "EC" ? { ...base, y: String(jwk.y) } : base;
  return { ...point, kid, alg, use: "sig" };
}

export async function importSigningKey(jwk: Record<string, unknown>, where: string): Promise<SigningKeyPair> {
  const kid = readKid(jwk, where);
  const alg = signingAlgOf(jwk, where);
  if (typeof jwk.d !== "string" || !BASE64URL.test(jwk.d)) {
    throw new KeysError(`${where}: private signing key lacks "d"`);
  }
  const publicJwk = publicPart(jwk, kid, alg);
  const privateKey = await importOrFail({ ...publicJwk, d: jwk.d }, alg, where, "private");
  const publicKey = await importOrFail(publicJwk, alg, where, "public");
  await checkPair(privateKey, publicKey, alg, where);
  return { kid, alg, privateKey, verifier: { kid, alg, key: publicKey }, publicJwk };
}

/**
 * A public signing key only (a broker's published JWKS, for proxy-only instances). Built from the
 * public members by name, so a stray private member in the document is never imported.
 */
export async function importVerificationKey(
  jwk: Record<string, unknown>,
  where: string,
): Promise<{ verifier: VerificationKey; publicJwk: JWK }> {
  const kid = readKid(jwk, where);
  const alg = signingAlgOf(jwk, where);
  const publicJwk = publicPart(jwk, kid, alg);
  const key = await importOrFail(publicJwk, alg, where, "public");
  return { verifier: { kid, alg, key }, publicJwk };
}

async function importOrFail(jwk: JWK, alg: SigningAlg, where: string, part: string): Promise<CryptoKey> {
  try {
    const key = await importJWK(jwk, alg, { extractable: false });
    if (key instanceof Uint8Array) throw new Error("unexpected symmetric key");
    return key;
  } catch {
    // jose's message is not echoed: messages about key data must never risk quoting it.
    throw new KeysError(`${where}: invalid ${alg} ${part} key`);
  }
}

const PROBE = new TextEncoder().encode("surrogate key-pair self-test");

/** WebCrypto does not check that `d` belongs to `x`/`y`; a mismatched pair would sign tokens nobody can verify. */
async function checkPair(privateKey: CryptoKey, publicKey: CryptoKey, alg: SigningAlg, where: string) {
  const params = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  const signature = await crypto.subtle.sign(params, privateKey, PROBE);
  if (!(await crypto.subtle.verify(params, publicKey, signature, PROBE))) {
    throw new KeysError(`${where}: private and public parts do not belong together`);
  }
}

/** A 256-bit `oct` key used directly as the A256GCM content key (JWE `dir`, RFC 7518 §4.5). */
export async function importEncryptionKey(
  jwk: Record<string, unknown>,
  where: string,
): Promise<EncryptionKey> {
  const kid = readKid(jwk, where);
  if (jwk.kty !== "oct") throw new KeysError(`${where}: encryption keys must have kty "oct"`);
  if (jwk.alg !== undefined && jwk.alg !== "A256GCM")
    throw new KeysError(`${where}: "alg" must be "A256GCM"`);
  if (jwk.use !== undefined && jwk.use !== "enc") throw new KeysError(`${where}: "use" must be "enc"`);
  if (typeof jwk.k !== "string" || !BASE64URL.test(jwk.k)) throw new KeysError(`${where}: missing "k"`);
  const bytes = Buffer.from(jwk.k, "base64url");
  if (bytes.length !== 32) throw new KeysError(`${where}: oct key must be 256 bits (32 bytes)`);
  const key = await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  const derive = await crypto.subtle.importKey("raw", bytes, "HKDF", false, ["deriveBits"]);
  bytes.fill(0);
  return { kid, key, derive };
}

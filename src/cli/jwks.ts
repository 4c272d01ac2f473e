/**
 * A broker's public JWK Set (its `/.well-known/jwks.json`, or a file) as verification keys for
 * `surrogate inspect --jwks`. Only public members are imported, so handing it a private key file
 * never puts private material to use; nothing here can decrypt.
 */
import { importJWK, type JWK } from "jose";
import { SurrogateError } from "../core/errors.ts";
import { parseStrictJson } from "../core/io/strict-json.ts";
import type { KeySets, SigningAlg, VerificationKey } from "../core/keys/types.ts";
import { inputError, readCapped, readFileBytes, utf8Of } from "./input.ts";

const MAX_JWKS_BYTES = 256 * 1024;
const MAX_KEYS = 32;
const FETCH_TIMEOUT_MS = 10_000;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Reads the set from an https URL (http on loopback only, DESIGN §7) or a file path. */
export async function readJwksText(source: string, cwdResolve: (path: string) => string): Promise<string> {
  if (!/^https?:\/\//i.test(source))
    return utf8Of(await readFileBytes(cwdResolve(source), MAX_JWKS_BYTES, "--jwks"), "--jwks");
  const url = new URL(source);
  if (url.protocol !== "https:" && !LOOPBACK.has(url.hostname)) {
    throw inputError("--jwks: URL must be https:// (http only for localhost)");
  }
  let response: Response;
  try {
    // No redirects: the keys that decide validity come from exactly the URL given.
    response = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "failed";
    throw new SurrogateError("temporarily_unavailable", `--jwks ${url.origin}: fetch failed [${code}]`, {
      cause: error,
    });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new SurrogateError("server_error", `--jwks ${url.origin}: answered ${response.status}`);
  }
  return boundedText(response, url.origin);
}

async function boundedText(response: Response, where: string): Promise<string> {
  if (response.body === null) throw new SurrogateError("server_error", `--jwks ${where}: empty answer`);
  const bytes = await readCapped(
    response.body,
    MAX_JWKS_BYTES,
    () => new SurrogateError("server_error", `--jwks ${where}: larger than ${MAX_JWKS_BYTES} bytes`),
  );
  return utf8Of(bytes, `--jwks ${where}`);
}

/** Verification keys by kid; keys of other types or uses are skipped, a duplicate kid is refused. */
export async function verifiersFromJwks(text: string): Promise<Map<string, VerificationKey>> {
  let set: unknown;
  try {
    set = parseStrictJson(text);
  } catch (error) {
    throw inputError("--jwks: not valid JSON", error);
  }
  const keys = typeof set === "object" && set !== null ? (set as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length > MAX_KEYS)
    throw inputError(`--jwks: not a JWK Set of at most ${MAX_KEYS} keys`);
  const verifiers = new Map<string, VerificationKey>();
  for (const jwk of keys) {
    const key = await publicVerifier(jwk);
    if (key === undefined) continue;
    if (verifiers.has(key.kid)) throw inputError(`--jwks: duplicate kid ${JSON.stringify(key.kid)}`);
    verifiers.set(key.kid, key);
  }
  if (verifiers.size === 0) throw inputError("--jwks: no EC P-256 or Ed25519 signing key in the set");
  return verifiers;
}

/** The algorithm follows from the key type, never from a member that could claim another (RFC 8725 §3.1). */
async function publicVerifier(value: unknown): Promise<VerificationKey | undefined> {
  if (typeof value !== "object" || value === null) return undefined;
  const jwk = value as Record<string, unknown>;
  if (typeof jwk.kid !== "string" || (jwk.use !== undefined && jwk.use !== "sig")) return undefined;
  const alg: SigningAlg | undefined =
    jwk.kty === "EC" && jwk.crv === "P-256"
      ? "ES256"
      : jwk.kty === "OKP" && jwk.crv === "Ed25519"
        ? "EdDSA"
        : undefined;
  if (alg === undefined) return undefined;
  const pub: JWK = { kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x) };
  if (alg === "ES256") pub.y = String(jwk.y);
  try {
    const key = await importJWK(pub, alg);
    if (key instanceof Uint8Array) return undefined;
    return { kid: jwk.kid, alg, key };
  } catch (error) {
    throw inputError(
      `--jwks: key ${JSON.stringify(jwk.kid.slice(0, 64))} is not a valid ${alg} public key`,
      error,
    );
  }
}

/**
 * KeySets for `verifyWrapper`, which only reads `verifiers`. The encryption members are filled
 * with a fresh random key and an empty decrypter map: nothing minted anywhere can be opened
 * with them, so inspect cannot decrypt even by mistake.
 */
export async function verificationKeySets(verifiers: Map<string, VerificationKey>): Promise<KeySets> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const random = crypto.getRandomValues(new Uint8Array(32));
  const derive = await crypto.subtle.importKey("raw", random, "HKDF", false, ["deriveBits"]);
  return {
    verifiers,
    publicJwks: { keys: [] },
    encrypter: { kid: "inspect-unused", key, derive },
    decrypters: new Map(),
  };
}

import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from "jose";
import type { SigningAlg } from "./types.ts";

/**
 * 128 random bits: kids from different deployments or rotations never collide by accident. Never
 * starting with "-": an operator pastes kids after `--kid`, where a leading dash reads as an option
 * (1 kid in 64 would otherwise need `--kid=…`). Drawing again costs < 0.03 bits.
 */
export function randomKid(): string {
  for (;;) {
    const kid = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
    if (!kid.startsWith("-")) return kid;
  }
}

export async function generateSigningJwk(alg: SigningAlg = "ES256"): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg === "ES256" ? "ES256" : "Ed25519", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomKid(), alg, use: "sig" };
}

/** A 256-bit key for JWE `dir` + A256GCM (RFC 7518 §4.5, §5.3). */
export function generateEncryptionJwk(): JWK {
  const k = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  return { kty: "oct", k, kid: randomKid(), alg: "A256GCM", use: "enc" };
}

/** Fresh private JWK Sets with one key each. The result holds private keys: never print or log it. */
export async function generateKeySets(
  alg: SigningAlg = "ES256",
): Promise<{ signing: JSONWebKeySet; encryption: JSONWebKeySet }> {
  return {
    signing: { keys: [await generateSigningJwk(alg)] },
    encryption: { keys: [generateEncryptionJwk()] },
  };
}

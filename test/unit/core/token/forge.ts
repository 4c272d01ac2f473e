/**
 * Hand-built tokens for rejection tests: real signatures and real AES-GCM from WebCrypto, with
 * headers and payloads written as raw text so duplicates and odd members survive.
 */
import type { KeySets } from "../../../../src/core/keys/types.ts";

const encoder = new TextEncoder();

export function b64url(input: string | Uint8Array): string {
  return Buffer.from(typeof input === "string" ? encoder.encode(input) : input).toString("base64url");
}

export function json(value: unknown): string {
  return JSON.stringify(value);
}

/** Signs `header.payload` (raw JSON texts) with the first signing key of `keys`. */
export async function signRaw(keys: KeySets, header: string, payload: string): Promise<string> {
  const signer = keys.signer!;
  const input = `${b64url(header)}.${b64url(payload)}`;
  const params = signer.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  const signature = new Uint8Array(await crypto.subtle.sign(params, signer.key, encoder.encode(input)));
  return `${input}.${b64url(signature)}`;
}

export function accessHeader(keys: KeySets, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: keys.signer!.alg, kid: keys.signer!.kid, typ: "surrogate+jwt", ...extra };
}

/** A payload that passes every claim check at `nowMs` (tok still has to be a real JWE to open). */
export function validPayload(nowMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return {
    iss: "https://broker.test",
    aud: "surrogate",
    iat: now,
    nbf: now,
    exp: now + 600,
    jti: "jti-1",
    auth_time: now,
    sid: "login-1",
    prv: "github",
    cnf: { "x5t#S256": "A".repeat(43) },
    tok: "x.y.z",
    ...extra,
  };
}

/** Compact JWE under `dir` + A256GCM with a raw header text (RFC 7516 §5.1; AAD = ASCII(b64url(header))). */
export async function sealRaw(key: CryptoKey, header: string, plaintext: string): Promise<string> {
  const protectedHeader = b64url(header);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(protectedHeader), tagLength: 128 },
      key,
      encoder.encode(plaintext),
    ),
  );
  const ciphertext = sealed.slice(0, -16);
  const tag = sealed.slice(-16);
  return `${protectedHeader}..${b64url(iv)}.${b64url(ciphertext)}.${b64url(tag)}`;
}

/** Flips one bit of the decoded bytes of segment `index` and re-encodes it. */
export function flipBit(token: string, index: number, byte = 0): string {
  const parts = token.split(".");
  const bytes = new Uint8Array(Buffer.from(parts[index]!, "base64url"));
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  parts[index] = b64url(bytes);
  return parts.join(".");
}

import type { JSONWebKeySet } from "jose";

export type SigningAlg = "ES256" | "EdDSA";

export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

export interface EncryptionKey {
  kid: string;
  key: CryptoKey; // AES-256-GCM, used as JWE `dir`
  /**
   * The same secret as an HKDF base key (RFC 5869), for keys other parts derive for their own
   * purpose (the rendezvous store's record seal and key names): one secret to rotate, and no
   * AES key ever used for two purposes. Non-extractable, like `key`.
   */
  derive: CryptoKey;
}

/**
 * The only long-lived state (DESIGN §6). The first key of each set signs/encrypts; every key
 * verifies/decrypts so keys rotate without downtime. `signer` is absent on a proxy-only instance
 * that takes its verification keys from the broker's published JWKS.
 */
export interface KeySets {
  signer?: { kid: string; alg: SigningAlg; key: CryptoKey };
  /** By kid. Lookup is the only way a header's `kid` is used; the algorithm comes from here, never the header. */
  verifiers: ReadonlyMap<string, VerificationKey>;
  /** Public signing keys as published at `/.well-known/jwks.json`. */
  publicJwks: JSONWebKeySet;
  encrypter: EncryptionKey;
  decrypters: ReadonlyMap<string, EncryptionKey>;
  /** When the running process loaded these sets (epoch ms; set by whoever loads them for serving). */
  loadedAt?: number;
}

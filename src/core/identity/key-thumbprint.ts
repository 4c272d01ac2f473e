import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { IdentityError } from "../errors.ts";

/**
 * RFC 7638 §3.2: the members a thumbprint covers, per key type, already in lexicographic order.
 * Optional members (`kid`, `alg`, `use`, …) are left out, so the same key always gives the same
 * thumbprint however it was exported.
 */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
};

/**
 * base64url SHA-256 JWK thumbprint (RFC 7638) of a DER SubjectPublicKeyInfo: the `jkt` a wrapper
 * bound to a public key carries (RFC 9449 §6.1). Synchronous (node:crypto) so it can run in
 * `describeCertificate`, once per connection; tests compare it with jose's calculateJwkThumbprint.
 */
export function keyThumbprintOf(spki: Uint8Array, where: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch (cause) {
    throw new IdentityError("certificate_invalid", `${where}: public key not expressible as a JWK`, {
      cause,
    });
  }
  return publicKeyThumbprintOf(key, where);
}

/** The same thumbprint of a public key already parsed (a certificate's, from node:crypto). */
export function publicKeyThumbprintOf(key: KeyObject, where: string): string {
  let jwk: Record<string, unknown>;
  try {
    jwk = Object.fromEntries(Object.entries(key.export({ format: "jwk" })));
  } catch (cause) {
    throw new IdentityError("certificate_invalid", `${where}: public key not expressible as a JWK`, {
      cause,
    });
  }
  const members = REQUIRED_MEMBERS[String(jwk.kty)];
  if (members === undefined) throw new IdentityError("certificate_invalid", `${where}: unsupported key type`);
  const canonical: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== "string" || value === "")
      throw new IdentityError("certificate_invalid", `${where}: public key lacks ${member}`);
    canonical[member] = value;
  }
  // RFC 7638 §3.3: no whitespace, members in order; JSON.stringify keeps insertion order.
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url");
}

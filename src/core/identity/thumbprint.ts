import { createHash } from "node:crypto";

/**
 * RFC 8705 §3.1 `x5t#S256`: base64url (no padding) of SHA-256 over the DER of the certificate.
 * Computed over the exact bytes the client presented, so broker and proxy agree on the binding.
 */
export function thumbprintOf(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("base64url");
}

/** The same digest as upper-case hex pairs joined by colons, the way people compare fingerprints. */
export function fingerprintOf(der: Uint8Array): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)?.join(":") ?? "";
}

/** Who is calling, as established from a verified client certificate. */
export interface ClientIdentity {
  /** DER of the leaf certificate. */
  der: Uint8Array;
  /** base64url(SHA-256(DER)): RFC 8705 §3.1 `x5t#S256`. */
  thumbprint: string;
  /**
   * base64url SHA-256 JWK thumbprint (RFC 7638) of the certificate's public key: the `jkt` of a
   * wrapper bound to the key pair rather than to one certificate, so it survives renewal.
   */
  keyThumbprint: string;
  /** Upper-case hex SHA-256 with colons, for people (consent page, logs). */
  fingerprint: string;
  /** The X509-SVID SPIFFE ID, when the certificate carries exactly one valid URI SAN. */
  spiffeId?: string;
  /** Subject common name, when present. */
  commonName?: string;
  /** The full subject DN, for display. */
  subject: string;
  /** What policy globs match and people see: the SPIFFE ID, else the CN, else the subject. */
  workload: string;
  notBefore: Date;
  notAfter: Date;
}

import {
  type CertificateAuthority,
  createCa,
  type IssuedCertificate,
  issueCertificate,
} from "../../src/core/pki/issue.ts";

/**
 * Certificates shaped like SPIRE's: a CA carrying its trust domain ID (`spiffe://td`) as URI SAN,
 * and X509-SVIDs with an empty subject, exactly one URI SAN, a short lifetime and a new key pair
 * each time (unless `keyPem` renews the same key).
 */
export interface SpireDomain {
  trustDomain: string;
  ca: CertificateAuthority;
  /** An SVID for `path` (e.g. "/agents/a") valid from a minute ago for `lifetimeMs` (default 1 h). */
  svid(path: string, options?: { lifetimeMs?: number; keyPem?: string }): Promise<IssuedCertificate>;
}

export async function spireDomain(trustDomain: string): Promise<SpireDomain> {
  const ca = await createCa({ commonName: `SPIRE CA ${trustDomain}`, uris: [`spiffe://${trustDomain}`] });
  return {
    trustDomain,
    ca,
    svid: (path, options = {}) => {
      const start = Date.now() - 60_000;
      return issueCertificate(ca, {
        usage: "client",
        uris: [`spiffe://${trustDomain}${path}`],
        notBefore: new Date(start),
        notAfter: new Date(Date.now() + (options.lifetimeMs ?? 3_600_000)),
        ...(options.keyPem === undefined ? {} : { keyPem: options.keyPem }),
      });
    },
  };
}

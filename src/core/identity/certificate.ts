import { IdentityError } from "../errors.ts";
import { publicKeyThumbprintOf } from "./key-thumbprint.ts";
import { type ParsedCertificate, parseCertificate } from "./parse.ts";
import { parseSpiffeId } from "./spiffe.ts";
import { fingerprintOf } from "./thumbprint.ts";
import type { ClientIdentity } from "./types.ts";

/** Who a client certificate (DER) names; see `identityOf`. */
export function describeCertificate(der: Uint8Array): ClientIdentity {
  return identityOf(parseCertificate(der, "client certificate"));
}

/**
 * Who a parsed client certificate names. X509-SVID §2: an SVID carries exactly one URI SAN, the
 * SPIFFE ID. A certificate that carries a spiffe URI but breaks those rules is refused outright:
 * falling back to its CN would let a malformed SVID pass as whatever CN it chose.
 */
export function identityOf(cert: ParsedCertificate): ClientIdentity {
  const spiffeId = svidOf(cert.uris);
  // Exactly one CN, or none: with several, which one a policy glob matched would be ambiguous.
  const commonName = cert.commonNames.length === 1 ? cert.commonNames[0] : undefined;
  if (spiffeId === undefined) refuseSpiffeLookalike(commonName ?? cert.subject);
  return {
    der: cert.der,
    thumbprint: cert.thumbprint,
    keyThumbprint: publicKeyThumbprintOf(cert.node.publicKey, cert.what),
    fingerprint: fingerprintOf(cert.der),
    ...(spiffeId === undefined ? {} : { spiffeId }),
    ...(commonName === undefined ? {} : { commonName }),
    subject: cert.subject,
    workload: spiffeId ?? commonName ?? cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** The SPIFFE ID when the certificate is an SVID; undefined when it makes no SPIFFE claim at all. */
function svidOf(uris: string[]): string | undefined {
  const claimsSpiffe = uris.some((uri) => uri.toLowerCase().startsWith("spiffe:"));
  if (!claimsSpiffe) return undefined;
  if (uris.length !== 1) {
    throw new IdentityError(
      "spiffe_invalid",
      `SPIFFE ID rejected: an X509-SVID has exactly one URI SAN, found ${uris.length}`,
    );
  }
  return parseSpiffeId(uris[0] ?? "");
}

/**
 * Policy globs over SPIFFE IDs (`spiffe://corp/agents/*`) also see CN-named workloads. A CN (or
 * subject) that spells a SPIFFE ID would match them without being an SVID, so it is refused: a
 * SPIFFE ID only counts as the URI SAN (X509-SVID §2).
 */
function refuseSpiffeLookalike(name: string): void {
  if (name.trim().toLowerCase().startsWith("spiffe:")) {
    throw new IdentityError(
      "spiffe_invalid",
      "SPIFFE ID rejected: it must be the URI SAN, not the subject CN",
    );
  }
}

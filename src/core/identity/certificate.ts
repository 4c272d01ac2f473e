import { IdentityError } from "../errors.ts";
import { SubjectAlternativeNameExtension, X509Certificate } from "../pki/x509.ts";
import { keyThumbprintOf } from "./key-thumbprint.ts";
import { parseSpiffeId } from "./spiffe.ts";
import { fingerprintOf, thumbprintOf } from "./thumbprint.ts";
import type { ClientIdentity } from "./types.ts";

/** RFC 5280 §4.1: certificates this large are not workload certificates; refuse before parsing. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

/**
 * Who a client certificate names. X509-SVID §2: an SVID carries exactly one URI SAN, the SPIFFE
 * ID. A certificate that carries a spiffe URI but breaks those rules is refused outright: falling
 * back to its CN would let a malformed SVID pass as whatever CN it chose.
 */
export function describeCertificate(der: Uint8Array): ClientIdentity {
  const cert = parseCertificate(der, "client certificate");
  const uris = uriNames(cert);
  const spiffeId = svidOf(uris);
  const commonName = commonNameOf(cert);
  if (spiffeId === undefined) refuseSpiffeLookalike(commonName ?? cert.subject);
  return {
    der,
    thumbprint: thumbprintOf(der),
    keyThumbprint: keyThumbprintOf(new Uint8Array(cert.publicKey.rawData), "client certificate"),
    fingerprint: fingerprintOf(der),
    ...(spiffeId === undefined ? {} : { spiffeId }),
    ...(commonName === undefined ? {} : { commonName }),
    subject: cert.subject,
    workload: spiffeId ?? commonName ?? cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** Parses DER, turning any ASN.1 failure into `certificate_invalid` with where it happened. */
export function parseCertificate(der: Uint8Array, what: string): X509Certificate {
  if (der.length === 0 || der.length > MAX_CERTIFICATE_BYTES) {
    throw new IdentityError(
      "certificate_invalid",
      `${what}: empty or larger than ${MAX_CERTIFICATE_BYTES} bytes`,
    );
  }
  try {
    return new X509Certificate(new Uint8Array(der));
  } catch (cause) {
    throw new IdentityError("certificate_invalid", `${what}: not a DER X.509 certificate`, { cause });
  }
}

function uriNames(cert: X509Certificate): string[] {
  let extensions: SubjectAlternativeNameExtension[];
  try {
    extensions = cert.getExtensions(SubjectAlternativeNameExtension);
  } catch (cause) {
    throw new IdentityError("certificate_invalid", "client certificate: unreadable subjectAltName", {
      cause,
    });
  }
  // RFC 5280 §4.2: an extension appears at most once; two SAN extensions could disagree.
  if (extensions.length > 1) {
    throw new IdentityError(
      "certificate_invalid",
      "client certificate: more than one subjectAltName extension",
    );
  }
  return (extensions[0]?.names.items ?? []).filter((name) => name.type === "url").map((name) => name.value);
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

/** Exactly one CN, or none: with several, which one a policy glob matched would be ambiguous. */
function commonNameOf(cert: X509Certificate): string | undefined {
  const names = cert.subjectName.getField("CN");
  return names.length === 1 ? names[0] : undefined;
}

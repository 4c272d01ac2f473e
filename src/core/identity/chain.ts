import { X509Certificate as NodeCertificate } from "node:crypto";
import { IdentityError } from "../errors.ts";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  type X509Certificate,
} from "../pki/x509.ts";
import { parseCertificate } from "./certificate.ts";

/**
 * In-code path validation of a client certificate, run on every connection after the TLS stack
 * accepted it. Defence in depth (DESIGN §11): Bun's client-certificate enforcement has had bugs, so
 * the identity the broker binds wrappers to is only trusted after this independent check.
 * Follows RFC 5280 §6.1 for what matters here: signatures, validity, basic constraints, key usage,
 * path length, and unknown critical extensions.
 */

/** Certificates in a path, leaf and trust anchor included. */
const MAX_DEPTH = 5;
/** Presented intermediates we are willing to look at; more is an attack on our CPU, not a PKI. */
const MAX_PRESENTED = 8;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EKU = "2.5.29.37.0";
/** RFC 5280 §4.2: a critical extension we do not process makes the certificate unusable. */
const UNDERSTOOD_CRITICAL = new Set(["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17"]);

interface Parsed {
  what: string;
  node: NodeCertificate;
  cert: X509Certificate;
  isCa: boolean;
  pathLength: number | undefined;
  keyUsage: number | undefined;
}

export function verifyClientCertificate(
  leafDer: Uint8Array,
  trustBundlePem: string,
  now: Date,
  intermediatesDer: Uint8Array[] = [],
): void {
  if (intermediatesDer.length > MAX_PRESENTED) fail(`more than ${MAX_PRESENTED} intermediate certificates`);
  const leaf = parse(leafDer, "client certificate");
  checkLeaf(leaf);
  const intermediates = intermediatesDer.map((der, i) => parse(der, `intermediate certificate ${i + 1}`));
  const anchors = trustAnchors(trustBundlePem);
  let current = leaf;
  const used = new Set<Parsed>();
  for (let depth = 1; depth < MAX_DEPTH; depth++) {
    checkUsable(current, now);
    const anchor = anchors.find((candidate) => issued(candidate, current, depth));
    if (anchor !== undefined) {
      checkUsable(anchor, now);
      return;
    }
    const next = intermediates.find((candidate) => !used.has(candidate) && issued(candidate, current, depth));
    if (next === undefined) fail(`${current.what}: no issuer in the trust bundle or the presented chain`);
    used.add(next);
    current = next;
  }
  fail(`certificate chain longer than ${MAX_DEPTH}`);
}

/** RFC 5280 §4.2.1.9 / RFC 8705 §2.1: a client identity is an end entity, usable for TLS client auth. */
function checkLeaf(leaf: Parsed): void {
  if (leaf.isCa) fail("client certificate is a CA certificate (basicConstraints CA:TRUE)");
  const eku = leaf.cert.getExtension(ExtendedKeyUsageExtension);
  if (eku !== null && !eku.usages.some((usage) => usage === CLIENT_AUTH || usage === ANY_EKU)) {
    fail("client certificate extendedKeyUsage does not include clientAuth");
  }
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & KeyUsageFlags.digitalSignature) === 0) {
    fail("client certificate keyUsage does not include digitalSignature");
  }
}

function checkUsable(entry: Parsed, now: Date): void {
  const time = now.getTime();
  if (time < entry.cert.notBefore.getTime()) fail(`${entry.what} is not yet valid`);
  if (time > entry.cert.notAfter.getTime()) fail(`${entry.what} has expired`);
  for (const extension of entry.cert.extensions) {
    if (extension.critical && !UNDERSTOOD_CRITICAL.has(extension.type)) {
      fail(`${entry.what} has an unsupported critical extension ${extension.type}`);
    }
  }
}

/**
 * Whether `issuer` signed `subject` and may sign certificates at this position: names and key
 * identifiers match, the signature verifies, CA:TRUE with keyCertSign (RFC 5280 §4.2.1.3,
 * §4.2.1.9), and `depth - 1` intermediates below it fit its pathLenConstraint.
 */
function issued(issuer: Parsed, subject: Parsed, depth: number): boolean {
  if (!issuer.isCa) return false;
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsageFlags.keyCertSign) === 0) return false;
  if (issuer.pathLength !== undefined && depth - 1 > issuer.pathLength) return false;
  if (!subject.node.checkIssued(issuer.node)) return false;
  try {
    return subject.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

function parse(der: Uint8Array, what: string): Parsed {
  const cert = parseCertificate(der, what);
  try {
    const constraints = cert.getExtension(BasicConstraintsExtension);
    return {
      what,
      cert,
      node: new NodeCertificate(der),
      isCa: constraints?.ca === true,
      pathLength: constraints?.pathLength,
      keyUsage: cert.getExtension(KeyUsagesExtension)?.usages,
    };
  } catch (cause) {
    throw new IdentityError("certificate_invalid", `${what}: unreadable extensions`, { cause });
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
/** Parsed bundles by PEM text: one per configured bundle, a reload adds one. Bounded. */
const bundles = new Map<string, Parsed[]>();
const MAX_CACHED_BUNDLES = 4;

function trustAnchors(pem: string): Parsed[] {
  const cached = bundles.get(pem);
  if (cached !== undefined) return cached;
  const anchors = [...pem.matchAll(PEM_BLOCK)].map((match, i) =>
    parse(Buffer.from(match[1] ?? "", "base64"), `trust bundle certificate ${i + 1}`),
  );
  if (anchors.length === 0) fail("trust bundle holds no certificate");
  if (bundles.size >= MAX_CACHED_BUNDLES) bundles.clear();
  bundles.set(pem, anchors);
  return anchors;
}

function fail(reason: string): never {
  throw new IdentityError("certificate_invalid", `client certificate rejected: ${reason}`);
}

import { IdentityError } from "../errors.ts";
import { KEY_USAGE, type ParsedCertificate } from "./parse.ts";

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
export const MAX_PRESENTED = 8;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EKU = "2.5.29.37.0";

/**
 * The path from `leaf` to one of `anchors` (leaf first, anchor last), every certificate in it
 * usable at `now`; throws `certificate_invalid` saying where it broke.
 */
export function verifyPath(
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  anchors: readonly ParsedCertificate[],
  now: Date,
): ParsedCertificate[] {
  if (intermediates.length > MAX_PRESENTED) fail(`more than ${MAX_PRESENTED} intermediate certificates`);
  checkLeaf(leaf);
  const path = [leaf];
  let current = leaf;
  for (let depth = 1; depth < MAX_DEPTH; depth++) {
    checkUsable(current, now);
    // An anchor that is not usable now is passed over: a bundle in CA rotation holds both.
    const anchor = anchors.find((candidate) => usableAt(candidate, now) && issued(candidate, current, depth));
    if (anchor !== undefined) {
      checkUsable(anchor, now);
      path.push(anchor);
      return path;
    }
    const next = intermediates.find(
      (candidate) => !path.includes(candidate) && issued(candidate, current, depth),
    );
    if (next === undefined) fail(`${current.what}: no issuer in the trust bundle or the presented chain`);
    path.push(next);
    current = next;
  }
  fail(`certificate chain longer than ${MAX_DEPTH}`);
}

/** RFC 5280 §4.2.1.9 / RFC 8705 §2.1: a client identity is an end entity, usable for TLS client auth. */
function checkLeaf(leaf: ParsedCertificate): void {
  if (leaf.isCa) fail("client certificate is a CA certificate (basicConstraints CA:TRUE)");
  const eku = leaf.extKeyUsage;
  if (eku !== undefined && !eku.some((usage) => usage === CLIENT_AUTH || usage === ANY_EKU)) {
    fail("client certificate extendedKeyUsage does not include clientAuth");
  }
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & KEY_USAGE.digitalSignature) === 0) {
    fail("client certificate keyUsage does not include digitalSignature");
  }
}

function usableAt(entry: ParsedCertificate, now: Date): boolean {
  const time = now.getTime();
  return time >= entry.notBefore.getTime() && time <= entry.notAfter.getTime();
}

function checkUsable(entry: ParsedCertificate, now: Date): void {
  const time = now.getTime();
  if (time < entry.notBefore.getTime()) fail(`${entry.what} is not yet valid`);
  if (time > entry.notAfter.getTime()) fail(`${entry.what} has expired`);
  if (entry.unknownCritical !== undefined) {
    fail(`${entry.what} has an unsupported critical extension ${entry.unknownCritical}`);
  }
}

/**
 * Whether `issuer` signed `subject` and may sign certificates at this position: names and key
 * identifiers match, the signature verifies, CA:TRUE with keyCertSign (RFC 5280 §4.2.1.3,
 * §4.2.1.9), and `depth - 1` intermediates below it fit its pathLenConstraint.
 */
function issued(issuer: ParsedCertificate, subject: ParsedCertificate, depth: number): boolean {
  if (!issuer.isCa) return false;
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KEY_USAGE.keyCertSign) === 0) return false;
  if (issuer.pathLength !== undefined && depth - 1 > issuer.pathLength) return false;
  if (!subject.node.checkIssued(issuer.node)) return false;
  try {
    return subject.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

function fail(reason: string): never {
  throw new IdentityError("certificate_invalid", `client certificate rejected: ${reason}`);
}

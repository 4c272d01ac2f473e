import { IdentityError } from "../errors.ts";

/**
 * SPIFFE ID validation per the SPIFFE-ID specification §2 (and X509-SVID §2): policy globs and the
 * consent page rely on one canonical spelling per workload, so anything that a URI parser would
 * normalise (case, percent-encoding, dot-segments, empty segments) is refused rather than fixed.
 */

const PREFIX = "spiffe://";
/** SPIFFE-ID §2.3: a SPIFFE ID is at most 2048 bytes; §2.1: a trust domain name at most 255. */
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN = 255;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Returns the SPIFFE ID unchanged when valid; throws IdentityError `spiffe_invalid` naming the flaw. */
export function parseSpiffeId(uri: string): string {
  if (new TextEncoder().encode(uri).length > MAX_ID_BYTES) fail("longer than 2048 bytes");
  if (!uri.startsWith(PREFIX)) {
    fail(
      uri.toLowerCase().startsWith("spiffe:") ? "scheme must be lower-case spiffe://" : "not a spiffe:// URI",
    );
  }
  const rest = uri.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  checkTrustDomain(trustDomain);
  // A workload ID names something inside the trust domain; the bare trust-domain ID (§2.2) names
  // the domain itself and must not be matched by workload policy.
  if (slash === -1) fail("no path: the trust domain ID is not a workload ID");
  checkPath(rest.slice(slash));
  return uri;
}

/** The trust domain of a SPIFFE ID that `parseSpiffeId` accepted. */
export function trustDomainOf(spiffeId: string): string {
  return spiffeId.slice(PREFIX.length).split("/", 1)[0] ?? "";
}

/** Whether `name` is a trust domain name as SPIFFE-ID §2.1 allows it (the rules for an ID's). */
export function isTrustDomain(name: string): boolean {
  return name !== "" && name.length <= MAX_TRUST_DOMAIN && TRUST_DOMAIN.test(name);
}

/**
 * The trust domain a CA certificate speaks for, from its `spiffe://` URI SANs (SPIRE puts the
 * trust domain ID, `spiffe://td`, on its CAs): undefined when it carries none. Two different
 * trust domains, or a malformed one, are refused: such a CA cannot say whom it vouches for.
 */
export function caTrustDomain(uris: readonly string[]): string | undefined {
  const domains = new Set<string>();
  for (const uri of uris) {
    if (!uri.toLowerCase().startsWith("spiffe:")) continue;
    if (!uri.startsWith(PREFIX)) fail("CA URI SAN: scheme must be lower-case spiffe://");
    const trustDomain = trustDomainOf(uri);
    checkTrustDomain(trustDomain);
    domains.add(trustDomain);
  }
  if (domains.size > 1) fail("a CA names more than one trust domain");
  return [...domains][0];
}

function checkTrustDomain(trustDomain: string): void {
  if (trustDomain === "") fail("empty trust domain");
  if (trustDomain.length > MAX_TRUST_DOMAIN) fail("trust domain longer than 255 characters");
  if (TRUST_DOMAIN.test(trustDomain)) return;
  if (/[A-Z]/.test(trustDomain)) fail("trust domain must be lower-case");
  if (trustDomain.includes("@")) fail("userinfo is not allowed");
  if (trustDomain.includes(":")) fail("a port is not allowed");
  fail(`invalid character in trust domain: ${describeBadCharacter(trustDomain, TRUST_DOMAIN)}`);
}

function checkPath(path: string): void {
  if (path.endsWith("/")) fail("trailing slash");
  for (const segment of path.slice(1).split("/")) {
    if (segment === "") fail("empty path segment");
    if (segment === "." || segment === "..") fail("dot segment in path");
    if (!SEGMENT.test(segment)) fail(`invalid character in path: ${describeBadCharacter(segment, SEGMENT)}`);
  }
}

/** Names the first offending character (as a code point, so a NUL or control byte is visible). */
function describeBadCharacter(text: string, allowed: RegExp): string {
  for (const char of text) {
    if (allowed.test(char)) continue;
    if (char === "?") return "query";
    if (char === "#") return "fragment";
    if (char === "%") return "percent-encoding";
    return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return "unknown";
}

function fail(reason: string): never {
  throw new IdentityError("spiffe_invalid", `SPIFFE ID rejected: ${reason}`);
}

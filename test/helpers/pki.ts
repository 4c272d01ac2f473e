import {
  type CertificateAuthority,
  createCa,
  type IssuedCertificate,
  type IssueOptions,
  issueCertificate,
  issueSelfSigned,
  loadCa,
} from "../../src/core/pki/issue.ts";

/**
 * Certificates for tests, generated once per process (key generation and signing are slow-ish).
 * Everything is relative to the real clock at generation time: tests that freeze time should stay
 * within a day of it. The `bad` set holds one certificate per way a client certificate must fail.
 */

export const ALPHA_ID = "spiffe://test.example/agents/alpha";
export const BETA_ID = "spiffe://test.example/agents/beta";

/** A leaf issued by an intermediate: `chainPem` is leaf + intermediate, as a client presents it. */
export interface ChainedCertificate extends IssuedCertificate {
  chainPem: string;
  intermediateDer: Uint8Array;
}

export interface TestPki {
  /** The trusted client and server CA: its `certPem` is the trust bundle. */
  ca: CertificateAuthority;
  server: IssuedCertificate;
  alpha: IssuedCertificate;
  beta: IssuedCertificate;
  /** A client certificate without URI SAN: identity falls back to the CN `legacy-agent`. */
  cnOnly: IssuedCertificate;
  /** SPIFFE client certificate under an intermediate signed by `ca` (the intermediate is not in the bundle). */
  viaIntermediate: ChainedCertificate;
  /** A second, untrusted CA (also usable as a second server CA in reload tests). */
  otherCa: CertificateAuthority;
  /** A server certificate for localhost issued by `otherCa`. */
  otherServer: IssuedCertificate;
  bad: {
    otherCa: IssuedCertificate;
    selfSigned: IssuedCertificate;
    expired: IssuedCertificate;
    notYetValid: IssuedCertificate;
    /** EKU serverAuth only. */
    wrongEku: IssuedCertificate;
    /** A "leaf" with CA:TRUE. */
    caLeaf: IssuedCertificate;
    /** The `viaIntermediate` leaf presented alone: no path to the bundle. */
    missingIntermediate: IssuedCertificate;
    /** A leaf under an intermediate from `otherCa`, presented with its intermediate. */
    rogueIntermediate: ChainedCertificate;
    twoUris: IssuedCertificate;
    /** One certificate per malformed SPIFFE ID, keyed by a short description. */
    badSpiffe: Record<string, IssuedCertificate>;
  };
}

/** Malformed SPIFFE IDs (SPIFFE-ID spec §2), each one a way a URI SAN must be refused. */
export const BAD_SPIFFE_IDS: Record<string, string> = {
  upperCaseTrustDomain: "spiffe://Test.Example/agents/alpha",
  upperCaseScheme: "SPIFFE://test.example/agents/alpha",
  dotDot: "spiffe://test.example/agents/../admin",
  dot: "spiffe://test.example/agents/./alpha",
  emptySegment: "spiffe://test.example/agents//alpha",
  trailingSlash: "spiffe://test.example/agents/alpha/",
  query: "spiffe://test.example/agents/alpha?x=1",
  fragment: "spiffe://test.example/agents/alpha#x",
  port: "spiffe://test.example:8443/agents/alpha",
  userinfo: "spiffe://user@test.example/agents/alpha",
  percent: "spiffe://test.example/agents/al%70ha",
  nul: "spiffe://test.example/agents/alpha\u0000.evil",
  noPath: "spiffe://test.example",
};

let cached: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  cached ??= generate();
  return cached;
}

const DAY = 86_400_000;

async function generate(): Promise<TestPki> {
  const now = Date.now();
  const ca = await createCa({ commonName: "surrogate test CA" });
  const otherCa = await createCa({ commonName: "untrusted test CA" });
  const client = (options: Omit<IssueOptions, "usage">, issuer = ca) =>
    issueCertificate(issuer, { usage: "client", ...options });
  const server = (issuer: CertificateAuthority) =>
    issueCertificate(issuer, {
      usage: "server",
      commonName: "localhost",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
  const viaIntermediate = await chained(ca, {
    commonName: "chained",
    uris: ["spiffe://test.example/agents/chained"],
  });
  return {
    ca,
    otherCa,
    server: await server(ca),
    otherServer: await server(otherCa),
    alpha: await client({ commonName: "alpha", uris: [ALPHA_ID] }),
    beta: await client({ commonName: "beta", uris: [BETA_ID] }),
    cnOnly: await client({ commonName: "legacy-agent" }),
    viaIntermediate,
    bad: {
      otherCa: await client({ commonName: "other", uris: [ALPHA_ID] }, otherCa),
      selfSigned: await issueSelfSigned({ usage: "client", commonName: "self-signed", uris: [ALPHA_ID] }),
      expired: await client({
        uris: [ALPHA_ID],
        notBefore: new Date(now - 2 * DAY),
        notAfter: new Date(now - DAY),
      }),
      notYetValid: await client({
        uris: [ALPHA_ID],
        notBefore: new Date(now + DAY),
        notAfter: new Date(now + 2 * DAY),
      }),
      wrongEku: await client({ uris: [ALPHA_ID], extKeyUsage: ["serverAuth"] }),
      caLeaf: await client({ commonName: "ca-leaf", uris: [ALPHA_ID], isCa: true }),
      missingIntermediate: {
        certPem: viaIntermediate.certPem,
        keyPem: viaIntermediate.keyPem,
        der: viaIntermediate.der,
      },
      rogueIntermediate: await chained(otherCa, { uris: [ALPHA_ID] }),
      twoUris: await client({ uris: [ALPHA_ID, BETA_ID] }),
      badSpiffe: await badSpiffe(ca),
    },
  };
}

async function chained(
  root: CertificateAuthority,
  options: Omit<IssueOptions, "usage">,
): Promise<ChainedCertificate> {
  const issued = await issueCertificate(root, {
    usage: "client",
    commonName: "test intermediate",
    isCa: true,
  });
  const intermediate = await loadCa(issued.certPem, issued.keyPem);
  const leaf = await issueCertificate(intermediate, { usage: "client", ...options });
  return { ...leaf, chainPem: `${leaf.certPem}\n${issued.certPem}`, intermediateDer: issued.der };
}

async function badSpiffe(ca: CertificateAuthority): Promise<Record<string, IssuedCertificate>> {
  const entries = await Promise.all(
    Object.entries(BAD_SPIFFE_IDS).map(
      async ([name, uri]) => [name, await issueCertificate(ca, { usage: "client", uris: [uri] })] as const,
    ),
  );
  return Object.fromEntries(entries);
}

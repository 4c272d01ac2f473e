import { describe, expect, test } from "bun:test";
import { IdentityError } from "../../../../src/core/errors.ts";
import { parseBundle } from "../../../../src/core/identity/bundle.ts";
import { ClientTrust } from "../../../../src/core/identity/trust.ts";
import {
  type CertificateAuthority,
  createCa,
  issueCertificate,
  loadCa,
} from "../../../../src/core/pki/issue.ts";
import { ALPHA_ID, testPki } from "../../../helpers/pki.ts";

const DAY = 86_400_000;

/** The agent port's check against a plain `client_ca` bundle, trust-domain rules included. */
function verifyClientCertificate(leaf: Uint8Array, bundlePem: string, now: Date, chain: Uint8Array[] = []) {
  const ders = parseBundle(bundlePem, "agent.client_ca");
  new ClientTrust({ clientCa: { source: "agent.client_ca", ders } }).admit(leaf, chain, now);
}

function rejection(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof IdentityError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return "accepted";
}

describe("verifyClientCertificate accepts", () => {
  test("a client certificate issued by the bundle CA", async () => {
    const { ca, alpha, cnOnly } = await testPki();
    expect(rejection(() => verifyClientCertificate(alpha.der, ca.certPem, new Date()))).toBe("accepted");
    expect(rejection(() => verifyClientCertificate(cnOnly.der, ca.certPem, new Date()))).toBe("accepted");
  });

  test("a leaf under a presented intermediate, with the root in a multi-certificate bundle", async () => {
    const { ca, otherCa, viaIntermediate } = await testPki();
    const bundle = `${otherCa.certPem}\n${ca.certPem}`;
    const run = () =>
      verifyClientCertificate(viaIntermediate.der, bundle, new Date(), [viaIntermediate.intermediateDer]);
    expect(rejection(run)).toBe("accepted");
  });

  test("at both ends of the validity period", async () => {
    const ca = await createCa({ commonName: "old CA", notBefore: new Date(Date.now() - 2 * DAY) });
    // X.509 times have whole-second precision.
    const second = Math.floor(Date.now() / 1000) * 1000;
    const notBefore = new Date(second - DAY);
    const notAfter = new Date(second + DAY);
    const cert = await issueCertificate(ca, { usage: "client", uris: [ALPHA_ID], notBefore, notAfter });
    expect(rejection(() => verifyClientCertificate(cert.der, ca.certPem, notBefore))).toBe("accepted");
    expect(rejection(() => verifyClientCertificate(cert.der, ca.certPem, notAfter))).toBe("accepted");
    expect(
      rejection(() => verifyClientCertificate(cert.der, ca.certPem, new Date(notAfter.getTime() + 1000))),
    ).toMatch(/expired/);
  });

  test("a leaf without EKU, and a P-384 CA", async () => {
    const ca = await createCa({ commonName: "p384", keyAlg: "P-384" });
    const cert = await issueCertificate(ca, { usage: "client", commonName: "x", extKeyUsage: [] });
    expect(rejection(() => verifyClientCertificate(cert.der, ca.certPem, new Date()))).toBe("accepted");
  });
});

describe("verifyClientCertificate rejects", () => {
  const cases: Array<[string, RegExp]> = [
    ["otherCa", /no issuer/],
    ["selfSigned", /no issuer/],
    ["expired", /expired/],
    ["notYetValid", /not yet valid/],
    ["wrongEku", /clientAuth/],
    ["caLeaf", /CA certificate/],
    ["missingIntermediate", /no issuer/],
  ];
  test.each(cases)("%s", async (name, reason) => {
    const { ca, bad } = await testPki();
    const cert = bad[name as keyof typeof bad] as { der: Uint8Array };
    const result = rejection(() => verifyClientCertificate(cert.der, ca.certPem, new Date()));
    expect(result).toStartWith("certificate_invalid");
    expect(result).toMatch(reason);
  });

  test("an intermediate from another CA, even when presented", async () => {
    const { ca, bad } = await testPki();
    const { der, intermediateDer } = bad.rogueIntermediate;
    expect(rejection(() => verifyClientCertificate(der, ca.certPem, new Date(), [intermediateDer]))).toMatch(
      /no issuer/,
    );
  });

  test("an expired intermediate", async () => {
    const { ca } = await testPki();
    const past = { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) };
    const issued = await issueCertificate(ca, { usage: "client", commonName: "old", isCa: true, ...past });
    const leaf = await issueCertificate(await loadCa(issued.certPem, issued.keyPem), {
      usage: "client",
      uris: [ALPHA_ID],
    });
    const result = rejection(() => verifyClientCertificate(leaf.der, ca.certPem, new Date(), [issued.der]));
    expect(result).toMatch(/intermediate certificate 1 has expired/);
  });

  test("a leaf signed by another leaf (CA:FALSE issuer)", async () => {
    const { ca, alpha } = await testPki();
    const fake = await issueCertificate(await loadCa(alpha.certPem, alpha.keyPem), {
      usage: "client",
      uris: [ALPHA_ID],
    });
    expect(rejection(() => verifyClientCertificate(fake.der, ca.certPem, new Date(), [alpha.der]))).toMatch(
      /no issuer/,
    );
  });

  test("a chain longer than five certificates, while five pass", async () => {
    const { ca } = await testPki();
    const five = await chainOf(ca, 3);
    expect(
      rejection(() => verifyClientCertificate(five.leaf, ca.certPem, new Date(), five.intermediates)),
    ).toBe("accepted");
    const six = await chainOf(ca, 4);
    expect(
      rejection(() => verifyClientCertificate(six.leaf, ca.certPem, new Date(), six.intermediates)),
    ).toMatch(/longer than 5/);
  });

  test("an intermediate whose pathLenConstraint is exceeded", async () => {
    const { ca } = await testPki();
    const chain = await chainOf(ca, 2, 0);
    expect(
      rejection(() => verifyClientCertificate(chain.leaf, ca.certPem, new Date(), chain.intermediates)),
    ).toMatch(/no issuer/);
  });

  test("a bundle without certificates, and garbage DER", async () => {
    const { alpha, ca } = await testPki();
    expect(() => verifyClientCertificate(alpha.der, "not a pem", new Date())).toThrow(
      "agent.client_ca: holds no CA certificate",
    );
    expect(
      rejection(() => verifyClientCertificate(new Uint8Array([1, 2, 3]), ca.certPem, new Date())),
    ).toMatch(/certificate_invalid/);
    const many = Array.from({ length: 9 }, () => alpha.der);
    expect(rejection(() => verifyClientCertificate(alpha.der, ca.certPem, new Date(), many))).toMatch(
      /more than 8/,
    );
  });
});

/** A leaf under `count` intermediates below `root`; the top intermediate gets `topPathLength`. */
async function chainOf(root: CertificateAuthority, count: number, topPathLength?: number) {
  let issuer = root;
  const intermediates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const pathLength = i === 0 ? topPathLength : undefined;
    const next = await issueCertificate(issuer, {
      usage: "client",
      commonName: `int ${i}`,
      isCa: true,
      ...(pathLength === undefined ? {} : { pathLength }),
    });
    intermediates.unshift(next.der);
    issuer = await loadCa(next.certPem, next.keyPem);
  }
  const leaf = await issueCertificate(issuer, { usage: "client", uris: [ALPHA_ID] });
  return { leaf: leaf.der, intermediates };
}

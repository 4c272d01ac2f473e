import { describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { IdentityError } from "../../../../src/core/errors.ts";
import { describeCertificate } from "../../../../src/core/identity/certificate.ts";
import { keyThumbprintOf } from "../../../../src/core/identity/key-thumbprint.ts";
import { fingerprintOf, thumbprintOf } from "../../../../src/core/identity/thumbprint.ts";
import { createCa, issueCertificate } from "../../../../src/core/pki/issue.ts";
import { ALPHA_ID, testPki } from "../../../helpers/pki.ts";

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof IdentityError) return error.code;
    throw error;
  }
  return "accepted";
}

describe("describeCertificate", () => {
  test("an X509-SVID yields its SPIFFE ID as the workload", async () => {
    const { alpha } = await testPki();
    const identity = describeCertificate(alpha.der);
    expect(identity.spiffeId).toBe(ALPHA_ID);
    expect(identity.workload).toBe(ALPHA_ID);
    expect(identity.commonName).toBe("alpha");
    expect(identity.subject).toBe("CN=alpha");
    expect(identity.thumbprint).toBe(thumbprintOf(alpha.der));
    expect(identity.fingerprint).toBe(fingerprintOf(alpha.der));
    expect(identity.notAfter.getTime()).toBeGreaterThan(identity.notBefore.getTime());
  });

  test("without a URI SAN the CN is the workload", async () => {
    const { cnOnly } = await testPki();
    const identity = describeCertificate(cnOnly.der);
    expect(identity.spiffeId).toBeUndefined();
    expect(identity.workload).toBe("legacy-agent");
  });

  test("a non-SPIFFE URI SAN is ignored and the CN is used", async () => {
    const { ca } = await testPki();
    const cert = await issueCertificate(ca, {
      usage: "client",
      commonName: "web",
      uris: ["https://a.example/x"],
    });
    expect(describeCertificate(cert.der).workload).toBe("web");
  });

  test("a CN spelling a SPIFFE ID (no URI SAN) is refused: it would match SPIFFE policy globs", async () => {
    const { ca } = await testPki();
    for (const commonName of ["spiffe://test.example/agents/alpha", " SPIFFE://test.example/agents/alpha"]) {
      const cert = await issueCertificate(ca, { usage: "client", commonName });
      expect(codeOf(() => describeCertificate(cert.der))).toBe("spiffe_invalid");
    }
    const plain = await issueCertificate(ca, { usage: "client", commonName: "spiffe-agent" });
    expect(describeCertificate(plain.der).workload).toBe("spiffe-agent");
  });

  test("without CN and SAN the subject is the workload", async () => {
    const ca = await createCa({ commonName: "c" });
    const cert = await issueCertificate(ca, { usage: "client", dnsNames: ["a.example"] });
    const identity = describeCertificate(cert.der);
    expect(identity.commonName).toBeUndefined();
    expect(identity.workload).toBe(identity.subject);
  });

  test("two URI SANs are refused, not reduced to one or to the CN", async () => {
    const { bad } = await testPki();
    expect(codeOf(() => describeCertificate(bad.twoUris.der))).toBe("spiffe_invalid");
  });

  test("a SPIFFE URI next to another URI SAN is refused", async () => {
    const { ca } = await testPki();
    const cert = await issueCertificate(ca, {
      usage: "client",
      commonName: "alpha",
      uris: ["https://a.example/", ALPHA_ID],
    });
    expect(codeOf(() => describeCertificate(cert.der))).toBe("spiffe_invalid");
  });

  test("each malformed SPIFFE ID is refused, never falling back to the CN", async () => {
    const { bad } = await testPki();
    const entries = Object.entries(bad.badSpiffe);
    expect(entries.length).toBeGreaterThan(10);
    for (const [name, cert] of entries) {
      expect([name, codeOf(() => describeCertificate(cert.der))]).toEqual([name, "spiffe_invalid"]);
    }
  });

  test("garbage and oversized input are certificate_invalid", () => {
    expect(codeOf(() => describeCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01])))).toBe(
      "certificate_invalid",
    );
    expect(codeOf(() => describeCertificate(new Uint8Array(0)))).toBe("certificate_invalid");
    expect(codeOf(() => describeCertificate(new Uint8Array(70_000)))).toBe("certificate_invalid");
  });
});

/** jose's RFC 7638 implementation over the certificate's key exported as a JWK: an independent reference. */
async function joseThumbprint(certPem: string): Promise<string> {
  return calculateJwkThumbprint(new X509Certificate(certPem).publicKey.export({ format: "jwk" }) as JWK);
}

describe("keyThumbprint (RFC 7638 over the certificate's public key)", () => {
  test("EC P-256 and Ed25519 certificates: equal to jose's calculateJwkThumbprint", async () => {
    const { ca, alpha } = await testPki();
    const ed = await issueCertificate(ca, { usage: "client", commonName: "ed", keyAlg: "Ed25519" });
    expect(describeCertificate(alpha.der).keyThumbprint).toBe(await joseThumbprint(alpha.certPem));
    expect(describeCertificate(ed.der).keyThumbprint).toBe(await joseThumbprint(ed.certPem));
    expect(describeCertificate(ed.der).keyThumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test("a renewed certificate for the same key keeps it; another key changes it", async () => {
    const { ca, alpha, beta } = await testPki();
    const renewed = await issueCertificate(ca, {
      usage: "client",
      commonName: "alpha",
      keyPem: alpha.keyPem,
    });
    const before = describeCertificate(alpha.der);
    const after = describeCertificate(renewed.der);
    expect(after.thumbprint).not.toBe(before.thumbprint);
    expect(after.keyThumbprint).toBe(before.keyThumbprint);
    expect(describeCertificate(beta.der).keyThumbprint).not.toBe(before.keyThumbprint);
  });

  test("P-384 and RSA keys (as SPKI) match jose too", async () => {
    const keys: KeyObject[] = [
      generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey,
      generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey,
    ];
    for (const publicKey of keys) {
      const spki = publicKey.export({ format: "der", type: "spki" });
      const jwk = createPublicKey({ key: spki, format: "der", type: "spki" }).export({ format: "jwk" });
      expect(keyThumbprintOf(spki, "test")).toBe(await calculateJwkThumbprint(jwk as JWK));
    }
  });

  test("bytes that are not a public key are certificate_invalid", () => {
    expect(codeOf(() => keyThumbprintOf(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), "test"))).toBe(
      "certificate_invalid",
    );
  });
});

import { describe, expect, test } from "bun:test";
import { IdentityError } from "../../../src/errors.ts";
import { describeCertificate } from "../../../src/identity/certificate.ts";
import { fingerprintOf, thumbprintOf } from "../../../src/identity/thumbprint.ts";
import { createCa, issueCertificate } from "../../../src/pki/issue.ts";
import { ALPHA_ID, testPki } from "../../helpers/pki.ts";

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

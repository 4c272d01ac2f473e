import { describe, expect, test } from "bun:test";
import { createHash, X509Certificate } from "node:crypto";
import { fingerprintOf, thumbprintOf } from "../../../../src/core/identity/thumbprint.ts";
import { testPki } from "../../../helpers/pki.ts";

describe("thumbprintOf", () => {
  test("is base64url SHA-256 of the DER, without padding (RFC 8705 §3.1)", async () => {
    const { alpha } = await testPki();
    const expected = createHash("sha256").update(alpha.der).digest("base64").replace(/=+$/, "");
    const thumbprint = thumbprintOf(alpha.der);
    expect(thumbprint).toBe(expected.replaceAll("+", "-").replaceAll("/", "_"));
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test("differs between certificates", async () => {
    const { alpha, beta } = await testPki();
    expect(thumbprintOf(alpha.der)).not.toBe(thumbprintOf(beta.der));
  });
});

describe("fingerprintOf", () => {
  test("matches the SHA-256 fingerprint node:crypto reports", async () => {
    const { alpha } = await testPki();
    expect(fingerprintOf(alpha.der)).toBe(new X509Certificate(alpha.certPem).fingerprint256);
    expect(fingerprintOf(alpha.der)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

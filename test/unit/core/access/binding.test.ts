import { describe, expect, test } from "bun:test";
import { wrapperBindings } from "../../../../src/core/access/binding.ts";
import { bindingsOf } from "../../../../src/core/access/policy.ts";
import type { PolicyRule } from "../../../../src/core/config/types.ts";
import { describeCertificate } from "../../../../src/core/identity/certificate.ts";
import { testPki } from "../../../helpers/pki.ts";

const rule = (workload: string, extra: Partial<PolicyRule> = {}): PolicyRule => ({
  workload,
  providers: ["corp"],
  ...extra,
});

describe("bindingsOf: the strictest choice of the rules allowing the pair", () => {
  test("defaults: certificate-bound access, SPIFFE-ID-bound refresh", () => {
    expect(bindingsOf([rule("spiffe://td/**")], "spiffe://td/a", "corp")).toEqual({
      access: "certificate",
      refresh: "spiffe_id",
    });
  });

  test("key binding only when every matching rule asks for it", () => {
    const key = rule("spiffe://td/hw/*", { binding: "key" });
    expect(bindingsOf([key], "spiffe://td/hw/a", "corp").access).toBe("key");
    expect(bindingsOf([key, rule("spiffe://td/**")], "spiffe://td/hw/a", "corp").access).toBe("certificate");
    // A rule for another provider or workload does not count.
    expect(bindingsOf([key, rule("spiffe://td/other")], "spiffe://td/hw/a", "corp").access).toBe("key");
  });

  test("one matching rule pinning refresh_binding = certificate pins it", () => {
    const pinned = rule("spiffe://td/a", { refreshBinding: "certificate" });
    expect(bindingsOf([rule("spiffe://td/**"), pinned], "spiffe://td/a", "corp").refresh).toBe("certificate");
    expect(bindingsOf([rule("spiffe://td/**"), pinned], "spiffe://td/b", "corp").refresh).toBe("spiffe_id");
  });
});

describe("wrapperBindings", () => {
  test("an SVID: x5t#S256 access (or jkt), spiffe_id refresh; notAfter in epoch seconds", async () => {
    const alpha = describeCertificate((await testPki()).alpha.der);
    const bindings = wrapperBindings(alpha, { access: "certificate", refresh: "spiffe_id" });
    expect(bindings).toEqual({
      access: { kind: "x5t#S256", value: alpha.thumbprint },
      refresh: { kind: "spiffe_id", value: "spiffe://test.example/agents/alpha" },
      certificateNotAfter: Math.floor(alpha.notAfter.getTime() / 1000),
    });
    expect(wrapperBindings(alpha, { access: "key", refresh: "certificate" })).toMatchObject({
      access: { kind: "jkt", value: alpha.keyThumbprint },
      refresh: { kind: "x5t#S256", value: alpha.thumbprint },
    });
  });

  test("a certificate without SPIFFE ID keeps certificate-bound refresh", async () => {
    const cnOnly = describeCertificate((await testPki()).cnOnly.der);
    expect(wrapperBindings(cnOnly, { access: "certificate", refresh: "spiffe_id" }).refresh).toEqual({
      kind: "x5t#S256",
      value: cnOnly.thumbprint,
    });
  });
});

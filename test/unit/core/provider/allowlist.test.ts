import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../../../src/core/errors.ts";
import { isAllowed, isMetadataHost, parseUpstream } from "../../../../src/core/provider/allowlist.ts";

const KEY = "providers.corp.upstreams[0]";

describe("parseUpstream", () => {
  test.each([
    ["api.example.com", { scheme: "https", host: "api.example.com", port: 443, wildcard: false }],
    ["API.Example.com", { scheme: "https", host: "api.example.com", port: 443, wildcard: false }],
    ["files.example.com:8443", { scheme: "https", host: "files.example.com", port: 8443, wildcard: false }],
    ["*.example.com", { scheme: "https", host: "example.com", port: 443, wildcard: true }],
    ["https://api.example.com", { scheme: "https", host: "api.example.com", port: 443, wildcard: false }],
    ["http://127.0.0.1:9000", { scheme: "http", host: "127.0.0.1", port: 9000, wildcard: false }],
    ["http://localhost", { scheme: "http", host: "localhost", port: 80, wildcard: false }],
    ["10.1.2.3:8080", { scheme: "https", host: "10.1.2.3", port: 8080, wildcard: false }],
  ])("accepts %p", (entry, rule) => {
    expect(parseUpstream(entry, KEY)).toEqual(rule as ReturnType<typeof parseUpstream>);
  });

  test.each([
    ["http to a public host", "http://api.example.com"],
    ["http wildcard", "http://*.localhost"],
    ["other scheme", "ftp://api.example.com"],
    ["path", "api.example.com/v1"],
    ["userinfo", "user@api.example.com"],
    ["IPv6 literal", "[::1]:443"],
    ["bad port", "api.example.com:0"],
    ["trailing dot", "api.example.com."],
    ["non-canonical IPv4", "127.1"],
    ["empty", ""],
    ["bare wildcard", "*"],
    ["single-label wildcard", "*.com"],
    ["IP wildcard", "*.10.0.0.1"],
    ["AWS metadata", "169.254.169.254"],
    ["ECS metadata", "169.254.170.2:80"],
    ["GCE metadata", "metadata.google.internal"],
    ["bare metadata", "metadata"],
    ["Alibaba metadata", "100.100.100.200"],
    ["link-local", "169.254.1.1"],
    ["broker API name", "v1"],
  ])("refuses %s naming the key", (_name, entry) => {
    expect(() => parseUpstream(entry, KEY)).toThrow(ConfigError);
    expect(() => parseUpstream(entry, KEY)).toThrow(KEY);
  });
});

describe("isAllowed", () => {
  const rules = ["api.example.com", "files.example.com:8443", "*.corp.example", "http://127.0.0.1:9000"].map(
    (e) => parseUpstream(e, KEY),
  );

  test("an exact host on the default port matches, with or without :443", () => {
    expect(isAllowed(rules, "api.example.com", undefined)?.host).toBe("api.example.com");
    expect(isAllowed(rules, "api.example.com", 443)?.scheme).toBe("https");
  });

  test("a port must match the rule's port", () => {
    expect(isAllowed(rules, "api.example.com", 8443)).toBeUndefined();
    expect(isAllowed(rules, "files.example.com", 8443)?.port).toBe(8443);
    expect(isAllowed(rules, "files.example.com", undefined)).toBeUndefined();
  });

  test("a suffix or prefix of an allowed host does not match", () => {
    expect(isAllowed(rules, "api.example.com.evil.test", undefined)).toBeUndefined();
    expect(isAllowed(rules, "evilapi.example.com", undefined)).toBeUndefined();
    expect(isAllowed(rules, "example.com", undefined)).toBeUndefined();
  });

  test("a wildcard matches sub-domains at any depth but not the apex or look-alikes", () => {
    expect(isAllowed(rules, "a.corp.example", undefined)?.wildcard).toBe(true);
    expect(isAllowed(rules, "a.b.corp.example", undefined)?.wildcard).toBe(true);
    expect(isAllowed(rules, "corp.example", undefined)).toBeUndefined();
    expect(isAllowed(rules, "evilcorp.example", undefined)).toBeUndefined();
  });

  test("an http rule decides the scheme and its own port", () => {
    expect(isAllowed(rules, "127.0.0.1", 9000)?.scheme).toBe("http");
    expect(isAllowed(rules, "127.0.0.1", undefined)).toBeUndefined();
    expect(isAllowed(rules, "127.0.0.2", 9000)).toBeUndefined();
  });

  test("metadata hosts are refused even when a rule would match them", () => {
    const sneaky = [
      { scheme: "http", host: "169.254.169.254", port: 80, wildcard: false },
      { scheme: "https", host: "google.internal", port: 443, wildcard: true },
    ] as const;
    expect(isAllowed(sneaky, "169.254.169.254", undefined)).toBeUndefined();
    expect(isAllowed(sneaky, "metadata.google.internal", undefined)).toBeUndefined();
    expect(isAllowed(sneaky, "other.google.internal", undefined)?.wildcard).toBe(true);
  });

  test("isMetadataHost covers the known endpoints and all of 169.254.0.0/16", () => {
    for (const host of [
      "169.254.169.254",
      "169.254.170.2",
      "metadata.google.internal",
      "metadata",
      "100.100.100.200",
    ]) {
      expect(isMetadataHost(host)).toBe(true);
    }
    expect(isMetadataHost("fd00:ec2::254")).toBe(true);
    expect(isMetadataHost("169.254.0.1")).toBe(true);
    expect(isMetadataHost("169.25.0.1")).toBe(false);
    expect(isMetadataHost("api.example.com")).toBe(false);
  });
});

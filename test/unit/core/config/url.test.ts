import { describe, expect, test } from "bun:test";
import {
  checkHttpsUrl,
  defaultAgentPublicUrl,
  isLoopbackHost,
  parseAgentPublicUrl,
  parseIssuer,
} from "../../../../src/core/config/url.ts";
import { configFailure } from "./failure.ts";

const HTTPS_ONLY = "must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])";

describe("isLoopbackHost", () => {
  test.each(["localhost", "LOCALHOST", "127.0.0.1", "[::1]"])("%p is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  test.each(["127.0.0.2", "localhost.example.com", "::1", "0.0.0.0", "example.com"])("%p is not", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("checkHttpsUrl", () => {
  test("keeps an IdP URL exactly as written (issuers are compared byte for byte)", () => {
    expect(checkHttpsUrl("https://idp.example/tenant/", "k").href).toBe("https://idp.example/tenant/");
    expect(checkHttpsUrl("http://localhost:9000/x", "k").port).toBe("9000");
  });

  test.each([
    ["http://idp.example", HTTPS_ONLY],
    ["http://localhost.evil.example", HTTPS_ONLY],
    ["http://127.0.0.1.nip.io", HTTPS_ONLY],
    ["javascript:alert(1)", HTTPS_ONLY],
    ["https://user@idp.example", "must not contain user information (user:password@)"],
    ["https://idp.example/#", "must not contain a fragment (#…)"],
    ["idp.example", "must be an absolute URL"],
  ])("%p is refused", async (url, problem) => {
    const error = await configFailure(() => checkHttpsUrl(url, "providers.x.issuer"));
    expect(error.message).toBe(`providers.x.issuer: ${problem}`);
  });
});

describe("parseIssuer", () => {
  test("removes trailing slashes and default ports", () => {
    expect(parseIssuer("https://broker.example.com:443///", "issuer")).toBe("https://broker.example.com");
  });

  test("refuses an empty query marker", async () => {
    const error = await configFailure(() => parseIssuer("https://broker.example.com/?", "issuer"));
    expect(error.message).toBe("issuer: must not contain a query (?…)");
  });
});

describe("parseAgentPublicUrl", () => {
  test("keeps the origin alone, without a trailing slash or the default port", () => {
    expect(parseAgentPublicUrl("https://agents.example.com:443/", "k")).toBe("https://agents.example.com");
    expect(parseAgentPublicUrl("https://[::1]:8443", "k")).toBe("https://[::1]:8443");
  });

  const ORIGIN_ONLY = "must be an origin only (https://host[:port]), without a path, query or fragment";
  test.each([
    ["http://localhost:8443", "must be an https:// URL (the agent port is mTLS)"],
    ["https://user:pw@agents.example.com", "must not contain user information (user:password@)"],
    ["https://agents.example.com/prefix", ORIGIN_ONLY],
    ["https://agents.example.com/?", ORIGIN_ONLY],
    ["https://agents.example.com#", ORIGIN_ONLY],
    ["agents.example.com:8443", "must be an https:// URL (the agent port is mTLS)"],
    [" https://agents.example.com", "must be an absolute URL"],
  ])("%p is refused", async (url, problem) => {
    const error = await configFailure(() => parseAgentPublicUrl(url, "agent.public_url"));
    expect(error.message).toBe(`agent.public_url: ${problem}`);
  });
});

describe("defaultAgentPublicUrl", () => {
  test("is the issuer's host on the agent port, always https", () => {
    expect(defaultAgentPublicUrl("http://127.0.0.1:8080", 8443)).toBe("https://127.0.0.1:8443");
    expect(defaultAgentPublicUrl("https://broker.example.com/base", 443)).toBe("https://broker.example.com");
    expect(defaultAgentPublicUrl("http://[::1]:8080", 9443)).toBe("https://[::1]:9443");
  });
});

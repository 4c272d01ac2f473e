import { describe, expect, test } from "bun:test";
import { UpstreamRequestError } from "../../../../src/proxy/upstream/errors.ts";
import { parseTarget } from "../../../../src/proxy/upstream/target.ts";

describe("parseTarget: what is connected to and what is sent", () => {
  test("default ports are omitted from Host, others kept; the host is lower-cased, the path is not touched", () => {
    expect(parseTarget("https://API.Example.com/A/../%2E%2e?q=X")).toEqual({
      secure: true,
      hostname: "api.example.com",
      port: 443,
      serverName: "api.example.com",
      authority: "api.example.com",
      pathAndQuery: "/A/../%2E%2e?q=X",
      origin: "https://api.example.com:443",
    });
    expect(parseTarget("http://localhost:80/").authority).toBe("localhost");
    expect(parseTarget("https://example.com:80/").authority).toBe("example.com:80");
    expect(parseTarget("http://127.0.0.1:8080/x").authority).toBe("127.0.0.1:8080");
  });

  test("IP literals: no server name, brackets kept in Host and dropped for connecting", () => {
    expect(parseTarget("https://127.0.0.1:8443/").serverName).toBeUndefined();
    const v6 = parseTarget("https://[::1]:8443/p");
    expect([v6.hostname, v6.authority, v6.serverName, v6.origin]).toEqual([
      "::1",
      "[::1]:8443",
      undefined,
      "https://[::1]:8443",
    ]);
    expect(parseTarget("https://[2001:DB8::1]/").authority).toBe("[2001:db8::1]");
  });

  test("the same origin whatever the port spelling, different origins per scheme and host", () => {
    expect(parseTarget("https://a.example/").origin).toBe(parseTarget("https://a.example:443/x").origin);
    expect(parseTarget("http://a.example:443/").origin).not.toBe(parseTarget("https://a.example/").origin);
  });

  const refused: Array<[string, string]> = [
    ["another scheme", "ftp://example.com/"],
    ["an upper-case scheme", "HTTPS://example.com/"],
    ["a relative URL", "/path"],
    ["userinfo", "https://user:pass@example.com/"],
    ["an empty host", "https:///path"],
    ["an empty port", "https://example.com:/"],
    ["port 0", "https://example.com:0/"],
    ["port 65536", "https://example.com:65536/"],
    ["a backslash in the host", "https://example.com\\evil.com/"],
    ["a percent-encoded host", "https://ex%61mple.com/"],
    ["an empty label", "https://example..com/"],
    ["a trailing dot", "https://example.com./"],
    ["a short-form IPv4", "http://127.1/"],
    ["a hex IPv4", "http://0x7f.0.0.1/"],
    ["an octal-looking IPv4", "http://0177.0.0.1/"],
    ["an IPv4 above 255", "http://256.0.0.1/"],
    ["an invalid IPv6", "https://[::g]/"],
    ["an IPv6 zone", "https://[fe80::1%25eth0]/"],
    ["whitespace in the path", "https://example.com/a b"],
    ["a control character in the query", "https://example.com/?a=\u0001"],
    ["non-ASCII in the path", "https://example.com/caf\u00e9"],
    ["a fragment", "https://example.com/#x"],
    ["a line break", "https://example.com/\r\nHost: evil"],
  ];
  for (const [name, url] of refused) {
    test(`refused: ${name}`, () => {
      expect(() => parseTarget(url)).toThrow(UpstreamRequestError);
    });
  }
});

import { describe, expect, test } from "bun:test";
import { parseProviders, routeFor, selectProviders } from "../../../src/companion/providers.ts";
import { SurrogateError } from "../../../src/core/errors.ts";

const body = {
  providers: [
    {
      name: "github",
      kind: "github",
      upstreams: ["api.github.com", "github.com", "*.githubusercontent.com"],
    },
    {
      name: "corp",
      kind: "oidc",
      upstreams: ["files.corp.example:8443", "http://127.0.0.1:8080", "github.com"],
    },
  ],
};

describe("providers from GET /v1/providers", () => {
  test("patterns match exactly as the proxy's allow-list: default port, explicit port, wildcard", () => {
    const providers = parseProviders(body);
    expect(routeFor(providers, "https", "api.github.com", 443)?.provider.name).toBe("github");
    expect(routeFor(providers, "https", "api.github.com", 8443)).toBeUndefined();
    expect(routeFor(providers, "https", "raw.githubusercontent.com", 443)?.provider.name).toBe("github");
    expect(routeFor(providers, "https", "githubusercontent.com", 443)).toBeUndefined();
    expect(routeFor(providers, "https", "files.corp.example", 8443)?.provider.name).toBe("corp");
    expect(routeFor(providers, "https", "files.corp.example", 443)).toBeUndefined();
    expect(routeFor(providers, "https", "evil.example", 443)).toBeUndefined();
  });

  test("the scheme must be the pattern's: a CONNECT never reaches an http:// upstream, nor the reverse", () => {
    const providers = parseProviders(body);
    expect(routeFor(providers, "http", "127.0.0.1", 8080)?.provider.name).toBe("corp");
    expect(routeFor(providers, "https", "127.0.0.1", 8080)).toBeUndefined();
    expect(routeFor(providers, "http", "api.github.com", 443)).toBeUndefined();
    expect(routeFor(providers, undefined, "127.0.0.1", 8080)?.rule.scheme).toBe("http");
  });

  test("a host shared by two providers belongs to the first in --provider order", () => {
    const listed = parseProviders(body);
    expect(routeFor(selectProviders(listed, []), "https", "github.com", 443)?.provider.name).toBe("github");
    expect(
      routeFor(selectProviders(listed, ["corp", "github"]), "https", "github.com", 443)?.provider.name,
    ).toBe("corp");
    expect(routeFor(selectProviders(listed, ["corp"]), "https", "api.github.com", 443)).toBeUndefined();
  });

  test("a --provider the broker does not list is refused at start, naming what it may use", () => {
    expect(() => selectProviders(parseProviders(body), ["slack"])).toThrow(
      "the broker does not let this workload use provider slack (it may use: github, corp)",
    );
  });

  test("metadata hosts are never a route, whatever the broker says", () => {
    expect(() =>
      parseProviders({ providers: [{ name: "x", kind: "oidc", upstreams: ["169.254.169.254"] }] }),
    ).toThrow();
    const providers = parseProviders({
      providers: [{ name: "x", kind: "oidc", upstreams: ["*.google.internal"] }],
    });
    expect(routeFor(providers, "https", "metadata.google.internal", 443)).toBeUndefined();
  });

  test("malformed answers are refused with the member named", () => {
    const bad: Array<[unknown, string]> = [
      [{}, "providers"],
      [{ providers: [{ name: "a b", kind: "oidc", upstreams: [] }] }, "providers[0].name"],
      [{ providers: [{ name: "a", kind: "\u001b[2J", upstreams: [] }] }, "providers[0].kind"],
      [{ providers: [{ name: "a", kind: "oidc", upstreams: "x" }] }, "providers[0].upstreams"],
      [{ providers: [{ name: "a", kind: "oidc", upstreams: [1] }] }, "providers[0].upstreams[0]"],
    ];
    for (const [value, member] of bad) {
      let caught: unknown;
      try {
        parseProviders(value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SurrogateError);
      expect((caught as Error).message).toContain(member);
    }
  });
});

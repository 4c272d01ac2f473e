import { describe, expect, test } from "bun:test";
import { parseCidr } from "../../../../src/core/http/address.ts";
import { clientAddress } from "../../../../src/core/http/forwarded.ts";

const TRUSTED = ["10.0.0.0/8", "2001:db8::/32"].map((text) => parseCidr(text)!);
const PROXY = "10.0.0.5";

function from(peer: string, headers: Record<string, string>, trusted = TRUSTED): string {
  return clientAddress(peer, new Headers(headers), trusted);
}

describe("clientAddress", () => {
  test("from a trusted proxy: the rightmost X-Forwarded-For entry that is not a trusted proxy", () => {
    expect(from(PROXY, { "x-forwarded-for": "203.0.113.7" })).toBe("203.0.113.7");
    expect(from(PROXY, { "x-forwarded-for": "198.51.100.1, 203.0.113.7, 10.1.1.1" })).toBe("203.0.113.7");
    expect(from("2001:db8::9", { "x-forwarded-for": "2001:db8::2, 2001:db9::1" })).toBe("2001:db9::1");
    expect(from(PROXY, { "x-forwarded-for": "[2001:db9::1]:4711" })).toBe("2001:db9::1");
    expect(from(PROXY, { "x-forwarded-for": "203.0.113.7:51234" })).toBe("203.0.113.7");
  });

  test("a client's own X-Forwarded-For entries left of the proxy's are never chosen", () => {
    // The client sent "X-Forwarded-For: 192.0.2.66"; the proxy appended the real peer.
    expect(from(PROXY, { "x-forwarded-for": "192.0.2.66, 203.0.113.7" })).toBe("203.0.113.7");
  });

  test("RFC 7239 Forwarded: for= tokens and quoted strings, IPv6 in brackets, ports, case", () => {
    expect(from(PROXY, { forwarded: "for=203.0.113.7;proto=https" })).toBe("203.0.113.7");
    expect(from(PROXY, { forwarded: 'for=192.0.2.66, For="[2001:db9::1]:4711";by=10.0.0.5' })).toBe(
      "2001:db9::1",
    );
    expect(from(PROXY, { forwarded: "for=198.51.100.1, for=10.2.2.2" })).toBe("198.51.100.1");
  });

  test("a malformed or ambiguous header from a trusted proxy counts as the proxy's own address", () => {
    for (const headers of <Record<string, string>[]>[
      { "x-forwarded-for": "" },
      { "x-forwarded-for": "not-an-address" },
      { "x-forwarded-for": "203.0.113.7, unknown" },
      { "x-forwarded-for": "203.0.113.7,,10.1.1.1" },
      { forwarded: "for=unknown" },
      { forwarded: "for=_hidden" },
      { forwarded: "proto=https" },
      { forwarded: 'for="[2001:db9::1"' },
      { "x-forwarded-for": "203.0.113.7", forwarded: "for=198.51.100.1" },
      {},
    ]) {
      expect({ headers, client: from(PROXY, headers) }).toEqual({ headers, client: PROXY });
    }
  });

  test("a chain of trusted proxies only: its origin", () => {
    expect(from(PROXY, { "x-forwarded-for": "10.9.9.9, 10.1.1.1" })).toBe("10.9.9.9");
  });

  test("nothing is honoured from an untrusted peer, or with no trusted_proxies", () => {
    expect(from("203.0.113.7", { "x-forwarded-for": "198.51.100.1" })).toBe("203.0.113.7");
    expect(from("203.0.113.7", { forwarded: "for=198.51.100.1" })).toBe("203.0.113.7");
    expect(from(PROXY, { "x-forwarded-for": "198.51.100.1" }, [])).toBe(PROXY);
    expect(from("unknown", { "x-forwarded-for": "198.51.100.1" })).toBe("unknown");
  });
});

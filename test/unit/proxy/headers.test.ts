import { describe, expect, test } from "bun:test";
import { ProxyError } from "../../../src/core/errors.ts";
import { applyInjection, parseInjection } from "../../../src/core/provider/inject.ts";
import { Secret } from "../../../src/core/secret.ts";
import { buildUpstreamHeaders, filterResponseHeaders } from "../../../src/proxy/headers.ts";

type Raw = Array<[string, string]>;

function refusal(raw: Raw): ProxyError {
  try {
    buildUpstreamHeaders(raw);
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error("not refused");
}

describe("buildUpstreamHeaders", () => {
  test("keeps end-to-end headers in order and drops credentials, client-cert claims, Host and hop-by-hop", () => {
    const headers = buildUpstreamHeaders([
      ["Host", "proxy.internal:8443"],
      ["Authorization", "Bearer wrapper"],
      ["Proxy-Authorization", "Basic x"],
      ["X-Forwarded-Client-Cert", "Hash=forged"],
      ["X-SSL-Client-Verify", "SUCCESS"],
      ["X-Client-Cert-Subject", "CN=admin"],
      ["Connection", "keep-alive, X-Secret-Hop"],
      ["Keep-Alive", "timeout=5"],
      ["Proxy-Connection", "keep-alive"],
      ["TE", "trailers"],
      ["Trailer", "X-Checksum"],
      ["Upgrade", "websocket"],
      ["Expect", "100-continue"],
      ["X-Secret-Hop", "dropped"],
      ["Accept", "application/json"],
      ["Accept-Encoding", "gzip"],
      ["X-Custom", "a"],
      ["x-custom", "b"],
      ["Content-Length", "5"],
    ]);
    expect([...headers]).toEqual([
      ["accept", "application/json"],
      ["accept-encoding", "gzip"],
      ["x-custom", "a"],
      ["x-custom", "b"],
      ["content-length", "5"],
    ]);
    expect(headers.get("x-custom")).toBe("a, b");
  });

  test("Connection: authorization cannot strip the header injected afterwards", () => {
    const headers = buildUpstreamHeaders([
      ["Authorization", "Bearer wrapper"],
      ["Connection", "authorization, x-api-key"],
      ["X-Api-Key", "client"],
    ]);
    applyInjection(headers, parseInjection("Authorization: Bearer {token}", "k"), new Secret("real"));
    expect(headers.get("authorization")).toBe("Bearer real");
    expect(headers.has("x-api-key")).toBe(false);
  });

  test("identical duplicate Content-Length values collapse to one", () => {
    expect(
      buildUpstreamHeaders([
        ["Content-Length", "7"],
        ["content-length", "7"],
      ]).get("content-length"),
    ).toBe("7");
    expect(buildUpstreamHeaders([["Content-Length", "7, 7"]]).get("content-length")).toBe("7");
  });

  test.each<[string, Raw]>([
    [
      "Content-Length with Transfer-Encoding",
      [
        ["Content-Length", "5"],
        ["Transfer-Encoding", "chunked"],
      ],
    ],
    [
      "conflicting Content-Length",
      [
        ["Content-Length", "5"],
        ["Content-Length", "6"],
      ],
    ],
    ["conflicting Content-Length list", [["Content-Length", "5, 6"]]],
    ["non-numeric Content-Length", [["Content-Length", "-1"]]],
    ["empty Content-Length", [["Content-Length", ""]]],
    ["CR LF in a value", [["X-A", "a\r\nHost: evil.test"]]],
    ["LF in a value", [["X-A", "a\nb"]]],
    ["NUL in a value", [["X-A", "a\u0000b"]]],
    ["control character in a value", [["X-A", "a\u0001b"]]],
    ["invalid header name", [["X A", "1"]]],
    ["empty header name", [["", "1"]]],
    ["colon in header name", [["Host:", "evil.test"]]],
  ])("refuses %s with invalid_request", (_name, raw) => {
    expect(refusal(raw).code).toBe("invalid_request");
  });

  test("obs-text in a value is passed on (RFC 9110 §5.5)", () => {
    expect(buildUpstreamHeaders([["X-A", "caf\u00e9"]]).has("x-a")).toBe(true);
  });

  test("several Cookie fields become one, joined with '; ' as RFC 6265 §5.4 requires (not ', ')", () => {
    const headers = buildUpstreamHeaders([
      ["Cookie", "a=1"],
      ["cookie", "b=2; c=3"],
    ]);
    expect(headers.get("cookie")).toBe("a=1; b=2; c=3");
  });
});

describe("filterResponseHeaders", () => {
  test("drops hop-by-hop and Connection-named headers, keeps Location and every Set-Cookie", () => {
    const upstream = new Headers([
      ["Connection", "close, X-Internal"],
      ["Keep-Alive", "timeout=5"],
      ["Transfer-Encoding", "chunked"],
      ["X-Internal", "hop"],
      ["Location", "https://elsewhere.example/../x?y=%2e"],
      ["Content-Encoding", "gzip"],
      ["Set-Cookie", "a=1; Path=/"],
      ["Set-Cookie", "b=2; Path=/"],
    ]);
    const headers = filterResponseHeaders(upstream);
    expect(headers.has("connection")).toBe(false);
    expect(headers.has("keep-alive")).toBe(false);
    expect(headers.has("transfer-encoding")).toBe(false);
    expect(headers.has("x-internal")).toBe(false);
    expect(headers.get("location")).toBe("https://elsewhere.example/../x?y=%2e");
    expect(headers.get("content-encoding")).toBe("gzip");
    expect(headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });
});

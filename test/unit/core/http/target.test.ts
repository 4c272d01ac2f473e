import { describe, expect, test } from "bun:test";
import { ProxyError } from "../../../../src/core/errors.ts";
import { MAX_TARGET_LENGTH, parseTarget } from "../../../../src/core/http/target.ts";

const ACCEPTED: Array<[string, string, number | undefined, string]> = [
  ["/api.example.com/repos/x", "api.example.com", undefined, "/repos/x"],
  ["/API.Example.COM/Repos/X", "api.example.com", undefined, "/Repos/X"],
  ["/api.example.com", "api.example.com", undefined, "/"],
  ["/api.example.com?q=1", "api.example.com", undefined, "/?q=1"],
  ["/api.example.com/", "api.example.com", undefined, "/"],
  ["/files.example.com:8443/a/b?x=1&y=%20", "files.example.com", 8443, "/a/b?x=1&y=%20"],
  ["/127.0.0.1:9000/echo", "127.0.0.1", 9000, "/echo"],
  ["/10.0.0.1/", "10.0.0.1", undefined, "/"],
  ["/0.0.0.0:1/", "0.0.0.0", 1, "/"],
  ["/localhost:65535/", "localhost", 65535, "/"],
  ["/x-1.example-2.com/", "x-1.example-2.com", undefined, "/"],
  ["/a.b.c.example/a/..b/.c/c.", "a.b.c.example", undefined, "/a/..b/.c/c."],
  ["/api.example.com/search?path=../x", "api.example.com", undefined, "/search?path=../x"],
  ["/api.example.com/a//double", "api.example.com", undefined, "/a//double"],
  ["/example.123abc/", "example.123abc", undefined, "/"],
  [`/${"a".repeat(63)}.example/`, `${"a".repeat(63)}.example`, undefined, "/"],
];

const REFUSED: Array<[string, string]> = [
  ["userinfo", "/api.example.com@evil.test/"],
  ["userinfo with port", "/user:pass@api.example.com/"],
  ["encoded slash in host", "/evil.test%2f/"],
  ["encoded slash in host (upper case)", "/evil.test%2F@api.example.com/"],
  ["percent in host", "/api%2eexample.com/"],
  ["dot-segment climbing to another host", "/api.example.com/../evil.test/"],
  ["dot-segment at the end", "/api.example.com/a/.."],
  ["single dot segment", "/api.example.com/./x"],
  ["encoded dot-segment", "/api.example.com/%2e%2e/x"],
  ["mixed encoded dot-segment", "/api.example.com/.%2E/x"],
  ["double-encoded dot", "/api.example.com/%252e%252e/x"],
  ["encoded slash in path", "/api.example.com/a%2fb"],
  ["encoded backslash in path", "/api.example.com/a%5Cb"],
  ["raw backslash in path", "/api.example.com/a\\..\\b"],
  ["backslash in host", "/api.example.com\\@evil.test/"],
  ["path starting with //", "/api.example.com//double"],
  ["path starting with // (a host after it)", "/api.example.com//evil.test/x"],
  ["path of // before a query", "/api.example.com//?x=1"],
  ["fragment", "/api.example.com/x#frag"],
  ["semicolon in host", "/api.example.com;evil.test/"],
  ["space", "/api.example.com/a b"],
  ["tab", "/api.example.com/a\tb"],
  ["CR LF", "/api.example.com/a\r\nHost: evil.test"],
  ["NUL", "/api.example.com\u0000.evil.test/"],
  ["DEL", "/api.example.com/\u007f"],
  ["non-ASCII", "/api.exämple.com/"],
  ["IPv6 literal", "/[::1]/"],
  ["IPv6 literal with port", "/[fd00:ec2::254]:80/"],
  ["short IPv4", "/127.1/"],
  ["hex IPv4", "/0x7f.1/"],
  ["hex single label", "/0x7f000001/"],
  ["octal IPv4", "/0177.0.0.1/"],
  ["decimal integer IPv4", "/2130706433/"],
  ["octet above 255", "/256.0.0.1/"],
  ["five-part IPv4", "/1.2.3.4.5/"],
  ["all-numeric last label", "/evil.123/"],
  ["empty host segment", "//api.example.com/"],
  ["empty target after slash", "/"],
  ["query without host", "/?x=1"],
  ["absolute-form", "https://api.example.com/"],
  ["absolute-form http", "http://evil.test/"],
  ["authority-form", "api.example.com:443"],
  ["asterisk-form", "*"],
  ["empty target", ""],
  ["trailing dot", "/api.example.com./"],
  ["empty label", "/api..example.com/"],
  ["leading hyphen", "/-api.example.com/"],
  ["trailing hyphen", "/api-.example.com/"],
  ["underscore", "/api_x.example.com/"],
  ["label longer than 63", `/${"a".repeat(64)}.example/`],
  ["name longer than 253", `/${Array.from({ length: 64 }, () => "abc").join(".")}/`],
  ["empty port", "/api.example.com:/"],
  ["port zero", "/api.example.com:0/"],
  ["port too large", "/api.example.com:65536/"],
  ["port with leading zero", "/api.example.com:0443/"],
  ["signed port", "/api.example.com:+443/"],
  ["two ports", "/api.example.com:443:80/"],
  ["broker API as host", "/v1/grants"],
  ["broker API as host (upper case)", "/V1/token"],
  ["malformed percent-encoding", "/api.example.com/%zz"],
  ["truncated percent-encoding", "/api.example.com/?q=%2"],
  ["over-long target", `/api.example.com/${"a".repeat(MAX_TARGET_LENGTH)}`],
];

describe("parseTarget", () => {
  test.each(ACCEPTED)("accepts %p", (raw, host, port, pathAndQuery) => {
    expect(parseTarget(raw)).toEqual({ host, port, pathAndQuery });
  });

  test.each(REFUSED)("refuses %s", (_name, raw) => {
    let caught: unknown;
    try {
      parseTarget(raw);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProxyError);
    expect((caught as ProxyError).code).toBe("bad_target");
  });

  test("has at least 30 rejection cases", () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(30);
  });

  test("a target exactly at the length limit is accepted", () => {
    const prefix = "/api.example.com/";
    const target = prefix + "a".repeat(MAX_TARGET_LENGTH - prefix.length);
    expect(parseTarget(target).host).toBe("api.example.com");
  });

  test("error messages do not echo the target", () => {
    try {
      parseTarget("/api.example.com/..?access_token=SECRETVALUE");
      throw new Error("not refused");
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("SECRETVALUE");
    }
  });
});

describe("parseTarget remembers what it accepted", () => {
  test("the same text gives the same frozen answer; a refusal is refused again, never remembered", () => {
    const first = parseTarget("/api.example.com/repos?page=2");
    expect(parseTarget("/api.example.com/repos?page=2")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => parseTarget("/api.example.com/a/../b")).toThrow(ProxyError);
    expect(() => parseTarget("/api.example.com/a/../b")).toThrow(ProxyError);
  });

  test("long targets are parsed every time (the memo keeps short texts only)", () => {
    const long = `/api.example.com/${"a".repeat(400)}`;
    const first = parseTarget(long);
    expect(parseTarget(long)).not.toBe(first);
    expect(parseTarget(long)).toEqual(first);
  });
});

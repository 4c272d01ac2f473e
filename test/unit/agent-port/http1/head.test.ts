import { describe, expect, test } from "bun:test";
import { HeadError, HeadParser, MAX_FIELDS, parseHead } from "../../../../src/agent-port/http1/head.ts";

const head = (lines: string[]) => lines.join("\r\n");
const get = (...fields: string[]) => head(["GET /a?b=c HTTP/1.1", "Host: localhost", ...fields]);

function refused(text: string): number {
  try {
    parseHead(text);
  } catch (error) {
    if (error instanceof HeadError) return error.status;
    throw error;
  }
  throw new Error("accepted");
}

describe("accepted heads", () => {
  test("request line, raw headers in order with names as sent, OWS trimmed", () => {
    const parsed = parseHead(get("X-One:  a b \t", "x-two:", "X-One: c"));
    expect(parsed.method).toBe("GET");
    expect(parsed.target).toBe("/a?b=c");
    expect(parsed.minor).toBe(1);
    expect(parsed.rawHeaders).toEqual([
      ["Host", "localhost"],
      ["X-One", "a b"],
      ["x-two", ""],
      ["X-One", "c"],
    ]);
    expect(parsed.framing).toEqual({ kind: "none" });
    expect(parsed.keepAlive).toBe(true);
  });

  test("leading empty lines before the request line are ignored (RFC 9112 §2.2)", () => {
    expect(parseHead(`\r\n\r\n${get()}`).target).toBe("/a?b=c");
  });

  test("framing: Content-Length, identical repeats, zero, chunked", () => {
    expect(parseHead(get("Content-Length: 12")).framing).toEqual({ kind: "length", length: 12 });
    expect(parseHead(get("Content-Length: 5, 5", "Content-Length: 5")).framing).toEqual({
      kind: "length",
      length: 5,
    });
    expect(parseHead(get("Content-Length: 0")).framing).toEqual({ kind: "none" });
    expect(parseHead(get("Transfer-Encoding: Chunked")).framing).toEqual({ kind: "chunked" });
  });

  test("keep-alive: HTTP/1.1 unless close; HTTP/1.0 only with keep-alive", () => {
    expect(parseHead(get("Connection: Keep-Alive, Close")).keepAlive).toBe(false);
    expect(parseHead(head(["GET / HTTP/1.0"])).keepAlive).toBe(false);
    expect(parseHead(head(["GET / HTTP/1.0", "Connection: keep-alive"])).keepAlive).toBe(true);
  });

  test("Expect: 100-continue is recognised", () => {
    expect(parseHead(get("Expect: 100-Continue")).expectContinue).toBe(true);
    expect(parseHead(get()).expectContinue).toBe(false);
  });

  test("any token is a method: the usual ones and others, in the case sent", () => {
    for (const method of ["GET", "PATCH", "OPTIONS", "PROPFIND", "get", "GETX"]) {
      expect(parseHead(`${method} / HTTP/1.1\r\nHost: x`).method).toBe(method);
    }
    expect(parseHead("GET / HTTP/1.0").minor).toBe(0);
    expect(parseHead("GET / HTTP/1.1").rawHeaders).toEqual([]);
  });

  test("targets of every form reach the router, which owns those rules", () => {
    expect(parseHead("GET http://evil.test/ HTTP/1.1\r\nHost: x").target).toBe("http://evil.test/");
    expect(parseHead("OPTIONS * HTTP/1.1\r\nHost: x").target).toBe("*");
  });
});

describe("refused heads", () => {
  const cases: Array<[string, string, number]> = [
    ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: x", 400],
    ["a tab in the request line", "GET\t/ HTTP/1.1\r\nHost: x", 400],
    ["a space inside the target", "GET /a b HTTP/1.1\r\nHost: x", 400],
    ["non-ASCII in the target", "GET /\xe9 HTTP/1.1\r\nHost: x", 400],
    ["lower-case version", "GET / http/1.1\r\nHost: x", 400],
    ["HTTP/2.0 in a request line", "GET / HTTP/2.0\r\nHost: x", 505],
    ["HTTP/1.2", "GET / HTTP/1.2\r\nHost: x", 505],
    ["a method that is not a token", "G(T / HTTP/1.1\r\nHost: x", 400],
    ["a space after the version", "GET / HTTP/1.1 \r\nHost: x", 400],
    ["a version that is not digits", "GET / HTTP/1.x\r\nHost: x", 400],
    ["a two-digit version", "GET / HTTP/11.1\r\nHost: x", 400],
    ["no version", "GET /\r\nHost: x", 400],
    ["a method alone", "GET\r\nHost: x", 400],
    ["an empty request line", "\r\nHost: x", 400],
    ["a bare LF inside the request line", "GET /\n HTTP/1.1\r\nHost: x", 400],
    ["obs-fold", get("X-A: a", " b"), 400],
    ["obs-fold with a tab", get("X-A: a", "\tb"), 400],
    ["bare LF ending a field", get("X-A: a\nX-B: b"), 400],
    ["bare CR inside a value", get("X-A: a\rX-B: b"), 400],
    ["NUL inside a value", get("X-A: a\x00b"), 400],
    ["DEL inside a value", get("X-A: a\x7fb"), 400],
    ["space before the colon", get("X-A : a"), 400],
    ["no colon", get("X-A a"), 400],
    ["empty field name", get(": a"), 400],
    ["Content-Length and Transfer-Encoding", get("Content-Length: 3", "Transfer-Encoding: chunked"), 400],
    ["differing Content-Length fields", get("Content-Length: 3", "Content-Length: 4"), 400],
    ["differing values in one Content-Length list", get("Content-Length: 3, 4"), 400],
    ["empty Content-Length", get("Content-Length: "), 400],
    ["signed Content-Length", get("Content-Length: +3"), 400],
    ["hex Content-Length", get("Content-Length: 0x10"), 400],
    ["16-digit Content-Length", get(`Content-Length: ${"9".repeat(16)}`), 400],
    ["chunked not last", get("Transfer-Encoding: chunked, gzip"), 400],
    ["an unknown coding before chunked", get("Transfer-Encoding: gzip, chunked"), 501],
    ["Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked", 400],
    ["an unknown expectation", get("Expect: something"), 417],
    ["too many fields", get(...Array.from({ length: MAX_FIELDS }, (_, i) => `X-${i}: v`)), 431],
  ];
  for (const [name, text, status] of cases) {
    test(`${name} → ${status}`, () => {
      expect(refused(text)).toBe(status);
    });
  }
});

describe("one connection's heads (HeadParser)", () => {
  const auth = "Authorization: Bearer abc";

  test("identical field lines are parsed once: the same frozen fields, a fresh request line", () => {
    const heads = new HeadParser();
    const first = heads.parse(head(["GET /one HTTP/1.1", "Host: x", auth]));
    const second = heads.parse(head(["POST /two HTTP/1.1", "Host: x", auth]));
    expect(second.method).toBe("POST");
    expect(second.target).toBe("/two");
    expect(second.rawHeaders).toBe(first.rawHeaders);
    expect(Object.isFrozen(first.rawHeaders)).toBe(true);
    expect(Object.isFrozen(first.rawHeaders[0])).toBe(true);
    expect(() => (first.rawHeaders as Array<readonly [string, string]>).push(["x", "y"])).toThrow();
  });

  test("one differing byte in the field lines is parsed anew", () => {
    const heads = new HeadParser();
    const first = heads.parse(head(["GET / HTTP/1.1", "Host: x", auth]));
    const second = heads.parse(head(["GET / HTTP/1.1", "Host: x", "Authorization: Bearer abd"]));
    expect(second.rawHeaders).not.toBe(first.rawHeaders);
    expect(second.rawHeaders[1]).toEqual(["Authorization", "Bearer abd"]);
  });

  test("field lines that extend or shorten the previous ones are parsed anew", () => {
    const heads = new HeadParser();
    const first = heads.parse(head(["GET / HTTP/1.1", "Host: x", "X-A: 1"]));
    const longer = heads.parse(head(["GET / HTTP/1.1", "Host: x", "X-A: 12"]));
    const shorter = heads.parse(head(["GET / HTTP/1.1", "Host: x", "X-A: 1"]));
    const none = heads.parse("GET / HTTP/1.1");
    expect(longer.rawHeaders).toEqual([
      ["Host", "x"],
      ["X-A", "12"],
    ]);
    expect(shorter.rawHeaders).not.toBe(longer.rawHeaders);
    expect(shorter.rawHeaders).toEqual(first.rawHeaders);
    expect(none.rawHeaders).toEqual([]);
  });

  test("the same field lines at another HTTP version are read at that version", () => {
    const heads = new HeadParser();
    expect(heads.parse(head(["GET / HTTP/1.1", "Host: x"])).keepAlive).toBe(true);
    expect(heads.parse(head(["GET / HTTP/1.0", "Host: x"])).keepAlive).toBe(false);
    const chunked = ["Host: x", "Transfer-Encoding: chunked"];
    expect(heads.parse(head(["POST / HTTP/1.1", ...chunked])).framing).toEqual({ kind: "chunked" });
    expect(() => heads.parse(head(["POST / HTTP/1.0", ...chunked]))).toThrow(HeadError);
  });

  test("a refused head after an accepted one is still refused, and the next good one parsed", () => {
    const heads = new HeadParser();
    heads.parse(get(auth));
    expect(() => heads.parse(get(auth, "X-A: a\x00b"))).toThrow(HeadError);
    expect(() => heads.parse(`GET  /a HTTP/1.1\r\nHost: localhost\r\n${auth}`)).toThrow(HeadError);
    expect(heads.parse(get(auth)).rawHeaders).toHaveLength(2);
  });
});

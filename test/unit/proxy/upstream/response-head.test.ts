import { describe, expect, test } from "bun:test";
import { UpstreamProtocolError } from "../../../../src/proxy/upstream/errors.ts";
import { parseResponseHead } from "../../../../src/proxy/upstream/response-head.ts";

const head = (...lines: string[]) => lines.join("\r\n");

function refusal(text: string): string {
  try {
    parseResponseHead(text);
  } catch (error) {
    if (error instanceof UpstreamProtocolError) return error.message;
    throw error;
  }
  throw new Error("accepted");
}

describe("status line (RFC 9112 §4)", () => {
  const accepted: Array<[string, number, 0 | 1, string]> = [
    ["HTTP/1.1 200 OK", 200, 1, "OK"],
    ["HTTP/1.0 404 Not Found", 404, 0, "Not Found"],
    ["HTTP/1.1 204", 204, 1, ""],
    ["HTTP/1.1 200 ", 200, 1, ""],
    ["HTTP/1.1 299 Something Else\t(x)", 299, 1, "Something Else\t(x)"],
    ["HTTP/1.1 200 Ok\xe9", 200, 1, "Ok\xe9"],
    ["HTTP/1.1 999 x", 999, 1, "x"],
    ["HTTP/1.1 100 Continue", 100, 1, "Continue"],
  ];
  for (const [line, status, minor, reason] of accepted) {
    test(`${JSON.stringify(line)} is ${status}`, () => {
      const parsed = parseResponseHead(head(line, "content-length: 0"));
      expect([parsed.status, parsed.minor, parsed.reason]).toEqual([status, minor, reason]);
    });
  }

  const refused = [
    "HTTP/1.2 200 OK",
    "HTTP/2 200 OK",
    "HTTP/2.0 200 OK",
    "http/1.1 200 OK",
    "HTTP/1.1 099 Low",
    "HTTP/1.1 20 OK",
    "HTTP/1.1 2000 OK",
    "HTTP/1.1 20x OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1 200\tOK",
    "HTTP/1.1 200 O\x00K",
    "HTTP/1.1 200 O\x7fK",
    "HTTP/1.1 200 OK\r",
    "HTTP/1.1\t200 OK",
    "HTTP/1.1",
    "",
  ];
  for (const line of refused) {
    test(`${JSON.stringify(line)} is refused`, () => {
      expect(refusal(head(line, "content-length: 0"))).toBe("upstream client: malformed status line");
    });
  }
});

describe("fields", () => {
  test("names are lower-cased, values as received without OWS, order and repeats kept", () => {
    const parsed = parseResponseHead(
      head("HTTP/1.1 200 OK", "Content-Type:  text/plain ", "Set-Cookie: a=1", "set-cookie: b=2", "X-E:"),
    );
    expect(parsed.fields).toEqual([
      ["content-type", "text/plain"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-e", ""],
    ]);
  });

  test("a name is lower-cased right whatever was seen before it, colliding hashes included", () => {
    // "a_" and "`~" hash alike (31-multiplier hash of the lower-cased characters).
    const names = ["a_", "`~", "a_", "X-Custom", "x-CUSTOM", "`~", "Content-Type", "CONTENT-TYPE"];
    const parsed = parseResponseHead(head("HTTP/1.1 200 OK", ...names.map((name) => `${name}: v`)));
    expect(parsed.fields.map(([name]) => name)).toEqual([
      "a_",
      "`~",
      "a_",
      "x-custom",
      "x-custom",
      "`~",
      "content-type",
      "content-type",
    ]);
  });

  test("a value is checked up to its end: a control after OWS, or inside it, is refused", () => {
    expect(refusal(head("HTTP/1.1 200 OK", "X-A: a \x00"))).toContain("control character");
    expect(refusal(head("HTTP/1.1 200 OK", "X-A:\x01a"))).toContain("control character");
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "X-A: \t a\tb \t")).fields).toEqual([["x-a", "a\tb"]]);
    expect(refusal(head("HTTP/1.1 200 OK", "X-\x01: a"))).toContain("field name");
    expect(refusal(head("HTTP/1.1 200 OK", ": a"))).toContain("field name");
  });

  test("framing fields are recognised in any case", () => {
    const chunked = parseResponseHead(head("HTTP/1.1 200 OK", "TRANSFER-ENCODING: Chunked"));
    expect([chunked.chunked, chunked.length]).toEqual([true, undefined]);
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "CONNECTION: Close")).persistent).toBe(false);
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "content-LENGTH: 7")).length).toBe(7);
  });

  test("Content-Length is passed on as the number it is, repeats of it as one", () => {
    const parsed = parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 0012", "content-length: 0012"));
    expect([parsed.length, parsed.lengthText]).toEqual([12, "12"]);
    const plain = parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 1024"));
    expect([plain.length, plain.lengthText]).toEqual([1024, "1024"]);
    const none = parseResponseHead("HTTP/1.1 200 OK");
    expect([none.length, none.lengthText]).toEqual([undefined, undefined]);
  });

  test("conflicting or malformed Content-Length and obs-fold are refused", () => {
    expect(refusal(head("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 2"))).toContain(
      "Content-Length",
    );
    expect(refusal(head("HTTP/1.1 200 OK", "Content-Length: 12", "Content-Length: 012"))).toContain(
      "Content-Length",
    );
    expect(refusal(head("HTTP/1.1 200 OK", "Content-Length: -1"))).toContain("Content-Length");
    expect(refusal(head("HTTP/1.1 200 OK", "X-A: a", " folded"))).toContain("folding");
    expect(refusal(head("HTTP/1.1 200 OK", "X A: a"))).toContain("field name");
    expect(refusal(head("HTTP/1.1 200 OK", "X-A: a\rb"))).toContain("control character");
  });
});

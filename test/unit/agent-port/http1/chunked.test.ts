import { describe, expect, test } from "bun:test";
import { ChunkedDecoder, ChunkedError } from "../../../../src/agent-port/http1/chunked.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `text` split into `step`-byte pieces; returns the body and what followed the last chunk. */
function decode(text: string, step = text.length) {
  const decoder = new ChunkedDecoder();
  const input = bytes(text);
  let body = "";
  let rest = "";
  for (let i = 0; i < input.length; i += step) {
    const left = decoder.push(input.subarray(i, i + step), (data) => {
      body += new TextDecoder().decode(data);
    });
    if (left !== undefined)
      rest += new TextDecoder().decode(left) + new TextDecoder().decode(input.subarray(i + step));
    if (left !== undefined) break;
  }
  return { body, rest, done: decoder.done };
}

describe("chunked bodies that decode", () => {
  test("chunks, extensions and trailers, fed whole or one byte at a time", () => {
    const text = "5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\nGET /next";
    for (const step of [text.length, 1, 3]) {
      expect(decode(text, step)).toEqual({ body: "hello, world!!!", rest: "GET /next", done: true });
    }
  });

  test("an empty body", () => {
    expect(decode("0\r\n\r\n")).toEqual({ body: "", rest: "", done: true });
  });
});

describe("chunked framing that is refused", () => {
  const cases: Array<[string, string]> = [
    ["a size that is not hex", "zz\r\nhello\r\n0\r\n\r\n"],
    ["a signed size", "+5\r\nhello\r\n0\r\n\r\n"],
    ["an empty size", "\r\nhello\r\n0\r\n\r\n"],
    ["a size too large", `${"f".repeat(14)}\r\n`],
    ["data longer than its size", "3\r\nhello\r\n0\r\n\r\n"],
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
    ["a bare CR in the size line", "5\r;x\r\nhello\r\n0\r\n\r\n"],
    ["a malformed trailer", "0\r\nnot a field\r\n\r\n"],
    ["an overlong size line", `5;${"x".repeat(5000)}\r\n`],
  ];
  for (const [name, text] of cases) {
    test(name, () => {
      expect(() => decode(text)).toThrow(ChunkedError);
    });
  }
});

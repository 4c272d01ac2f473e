import { describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES, readParams } from "../../../src/broker/request-body.ts";
import { OAuthError } from "../../../src/core/errors.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

function parse(contentType: string | undefined, ...chunks: string[]) {
  const headers = new Headers(contentType === undefined ? {} : { "content-type": contentType });
  return readParams(headers, chunks.length === 0 ? null : streamOf(...chunks));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return (error as OAuthError).code;
  }
  throw new Error("expected a rejection");
}

describe("readParams", () => {
  test("form encoding, with charset parameter and percent/plus decoding", async () => {
    const params = await parse(
      "application/x-www-form-urlencoded; charset=UTF-8",
      "provider=github&scope=repo+read%3Auser",
    );
    expect(params.get("provider")).toBe("github");
    expect(params.get("scope")).toBe("repo read:user");
  });

  test("JSON object of strings, media type case-insensitive", async () => {
    const params = await parse("Application/JSON", '{"provider":"github","scope":"repo"}');
    expect([...params]).toEqual([
      ["provider", "github"],
      ["scope", "repo"],
    ]);
  });

  test("a body split across chunks is reassembled", async () => {
    const params = await parse("application/json", '{"provi', 'der":"git', 'hub"}');
    expect(params.get("provider")).toBe("github");
  });

  test("an empty body yields no parameters", async () => {
    expect((await parse("application/x-www-form-urlencoded")).size).toBe(0);
  });

  test("other or missing content types are invalid_request", async () => {
    expect(await codeOf(parse("text/plain", "provider=github"))).toBe("invalid_request");
    expect(await codeOf(parse("multipart/form-data; boundary=x", "--x--"))).toBe("invalid_request");
    expect(await codeOf(parse(undefined, "provider=github"))).toBe("invalid_request");
    expect(await codeOf(parse("application/jsonx", "{}"))).toBe("invalid_request");
  });

  test("duplicate form parameters are invalid_request (RFC 6749 §3.1)", async () => {
    expect(await codeOf(parse("application/x-www-form-urlencoded", "provider=a&provider=b"))).toBe(
      "invalid_request",
    );
    expect(await codeOf(parse("application/x-www-form-urlencoded", "provider=a&provide%72=b"))).toBe(
      "invalid_request",
    );
  });

  test("duplicate JSON members are invalid_request", async () => {
    expect(await codeOf(parse("application/json", '{"provider":"a","provider":"b"}'))).toBe(
      "invalid_request",
    );
    expect(await codeOf(parse("application/json", '{"provider":"a","provid\\u0065r":"b"}'))).toBe(
      "invalid_request",
    );
  });

  test("JSON that is not an object of strings is invalid_request", async () => {
    for (const body of [
      '["provider"]',
      '"github"',
      "null",
      '{"provider":1}',
      '{"p":{"x":"y"}}',
      '{"p":null}',
      "{",
    ]) {
      expect(await codeOf(parse("application/json", body))).toBe("invalid_request");
    }
  });

  test("invalid UTF-8 is invalid_request", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([0x70, 0x3d, 0xff, 0xfe]));
        controller.close();
      },
    });
    const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
    expect(await codeOf(readParams(headers, body))).toBe("invalid_request");
  });

  test("a body over the limit is refused while reading, without a Content-Length", async () => {
    const chunk = "a".repeat(1024);
    const chunks = Array.from({ length: 17 }, () => chunk);
    expect(await codeOf(parse("application/x-www-form-urlencoded", ...chunks))).toBe("payload_too_large");
  });

  test("a declared Content-Length over the limit is refused before reading", async () => {
    const body = new ReadableStream<Uint8Array>();
    const headers = new Headers({
      "content-type": "application/json",
      "content-length": String(MAX_BODY_BYTES + 1),
    });
    expect(await codeOf(readParams(headers, body))).toBe("payload_too_large");
    expect(body.locked).toBe(false); // no reader was ever taken
  });

  test("exactly the limit is accepted", async () => {
    const value = "a".repeat(MAX_BODY_BYTES - "x=".length);
    const params = await parse("application/x-www-form-urlencoded", `x=${value}`);
    expect(params.get("x")?.length).toBe(value.length);
  });
});

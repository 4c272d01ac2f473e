import { describe, expect, test } from "bun:test";
import { ProxyError } from "../../../src/core/errors.ts";
import { extractBearer } from "../../../src/proxy/bearer.ts";

function codeOf(raw: Array<[string, string]>): string {
  try {
    extractBearer(raw);
  } catch (error) {
    if (error instanceof ProxyError) return error.code;
    throw error;
  }
  return "accepted";
}

describe("extractBearer", () => {
  test("returns the token of the one Bearer header, scheme case-insensitive", () => {
    expect(extractBearer([["Authorization", "Bearer a.b.c"]])).toBe("a.b.c");
    expect(extractBearer([["authorization", "bearer   a.b-_c"]])).toBe("a.b-_c");
  });

  test.each<[string, Array<[string, string]>, string]>([
    ["no Authorization", [["Accept", "*/*"]], "missing_token"],
    ["another scheme", [["Authorization", "Basic dXNlcjpwYXNz"]], "missing_token"],
    ["Bearer without token", [["Authorization", "Bearer"]], "invalid_token"],
    ["Bearer with blank token", [["Authorization", "Bearer   "]], "invalid_token"],
    ["token with a space", [["Authorization", "Bearer a b"]], "invalid_token"],
    ["token with a comma", [["Authorization", "Bearer a,b"]], "invalid_token"],
    [
      "two Authorization headers",
      [
        ["Authorization", "Bearer a.b.c"],
        ["authorization", "Bearer d.e.f"],
      ],
      "invalid_request",
    ],
  ])("%s", (_name, raw, code) => {
    expect(codeOf(raw)).toBe(code);
  });
});

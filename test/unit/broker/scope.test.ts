import { describe, expect, test } from "bun:test";
import { MAX_SCOPES, parseScope } from "../../../src/broker/scope.ts";
import { OAuthError } from "../../../src/core/errors.ts";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof OAuthError ? error.code : "not an OAuthError";
  }
  return undefined;
}

describe("parseScope", () => {
  const defaults = ["repo", "read:user"];

  test("absent or blank → the provider's defaults (a copy)", () => {
    expect(parseScope(undefined, defaults)).toEqual(defaults);
    expect(parseScope("", defaults)).toEqual(defaults);
    expect(parseScope("  ", defaults)).toEqual(defaults);
    expect(parseScope(undefined, defaults)).not.toBe(defaults);
  });

  test("space-separated scope tokens, order kept, duplicates dropped", () => {
    expect(parseScope("openid email", defaults)).toEqual(["openid", "email"]);
    expect(parseScope(" repo  repo gist ", defaults)).toEqual(["repo", "gist"]);
    expect(parseScope("https://www.googleapis.com/auth/drive.readonly", defaults)).toEqual([
      "https://www.googleapis.com/auth/drive.readonly",
    ]);
  });

  test("characters outside RFC 6749 NQCHAR are invalid_request", () => {
    for (const bad of ['a"b', "a\\b", "a\tb", "a\nb", "ré", "a\u0000"]) {
      expect(codeOf(() => parseScope(bad, defaults))).toBe("invalid_request");
    }
  });

  test("more than 50 scopes or more than 1 KiB is invalid_request", () => {
    const many = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `s${i}`).join(" ");
    expect(codeOf(() => parseScope(many, defaults))).toBe("invalid_request");
    const fifty = Array.from({ length: MAX_SCOPES }, (_, i) => `s${i}`).join(" ");
    expect(parseScope(fifty, defaults)).toHaveLength(MAX_SCOPES);
    expect(codeOf(() => parseScope("a".repeat(1025), defaults))).toBe("invalid_request");
  });
});

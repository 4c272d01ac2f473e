import { describe, expect, test } from "bun:test";
import { parseTokenResponse } from "../../../../src/broker/providers/token-response.ts";
import { IdpError } from "../../../../src/core/errors.ts";

const WHERE = "provider corp: token endpoint (authorization_code)";
const ACCESS = "stub-real-access-0123456789";
const valid = { access_token: ACCESS, token_type: "Bearer", expires_in: 3600 };

function failure(data: object): IdpError {
  try {
    parseTokenResponse(data, WHERE);
  } catch (error) {
    if (!(error instanceof IdpError)) throw error;
    expect(error.message).toStartWith(WHERE);
    expect(error.message).not.toContain(ACCESS);
    return error;
  }
  throw new Error("expected the token response to be refused");
}

describe("token response", () => {
  test("a complete response becomes UpstreamTokens with every secret wrapped", () => {
    const tokens = parseTokenResponse(
      {
        ...valid,
        token_type: "bearer",
        refresh_token: "stub-real-refresh-1",
        scope: "repo gist",
        id_token: "a.b.c",
      },
      WHERE,
    );
    expect(tokens.accessToken.reveal()).toBe(ACCESS);
    expect(tokens.refreshToken?.reveal()).toBe("stub-real-refresh-1");
    expect(tokens.idToken?.reveal()).toBe("a.b.c");
    expect(tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 3600, scope: "repo gist" });
    expect(JSON.stringify(tokens)).not.toContain(ACCESS);
  });

  test("optional members may be absent; a numeric-string expires_in (old Entra) is read", () => {
    const tokens = parseTokenResponse({ access_token: ACCESS, token_type: "bot", expires_in: "3599" }, WHERE);
    expect(tokens).toMatchObject({ tokenType: "bot", expiresIn: 3599 });
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.scope).toBeUndefined();
  });

  test.each([
    ["no access_token", { ...valid, access_token: undefined }],
    ["an empty access_token", { ...valid, access_token: "" }],
    ["a numeric access_token", { ...valid, access_token: 42 }],
    ["an access_token over 16 KiB", { ...valid, access_token: "a".repeat(16 * 1024 + 1) }],
    ["an access_token with CR LF", { ...valid, access_token: `${ACCESS}\r\nx-evil: 1` }],
    ["no token_type", { ...valid, token_type: undefined }],
    ["a token_type with spaces", { ...valid, token_type: "Bearer x" }],
    ["a zero expires_in", { ...valid, expires_in: 0 }],
    ["a negative expires_in", { ...valid, expires_in: -5 }],
    ["an infinite expires_in", { ...valid, expires_in: Number.POSITIVE_INFINITY }],
    ["an expires_in in milliseconds of years", { ...valid, expires_in: 1e12 }],
    ["an object scope", { ...valid, scope: { a: 1 } }],
    ["a numeric refresh_token", { ...valid, refresh_token: 7 }],
    ["an id_token with a newline", { ...valid, id_token: "a.b\n.c" }],
  ])("%s is an unexpected response", (_, data) => {
    expect(failure(data).code).toBe("idp_unexpected_response");
  });

  test("an error member with HTTP 200 (GitHub) is the IdP's error, code kept, description dropped", () => {
    const error = failure({ error: "bad_verification_code", error_description: `code ${ACCESS} is bad` });
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("bad_verification_code");
    expect(error.message).not.toContain("is bad");
  });

  test("Slack's ok:false is an error; an error code outside RFC 6749's charset is not repeated", () => {
    expect(failure({ ok: false, error: "invalid_code" }).message).toContain("invalid_code");
    const odd = failure({ error: `x"\n${ACCESS}` });
    expect(odd.code).toBe("idp_error");
    expect(odd.message).toContain("an unrecognised error");
  });
});

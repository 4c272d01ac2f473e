import { describe, expect, test } from "bun:test";
import { errorResponse, jsonResponse, oauthError } from "../../../src/broker/oauth-response.ts";
import { IdpError, OAuthError, RendezvousError } from "../../../src/core/errors.ts";

function expectNoStore(response: Response): void {
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("pragma")).toBe("no-cache");
  expect(response.headers.get("content-type")).toStartWith("application/json");
}

describe("oauth responses", () => {
  test("token responses are not cacheable (RFC 6749 §5.1)", async () => {
    const response = jsonResponse({ access_token: "x", token_type: "Bearer" });
    expect(response.status).toBe(200);
    expectNoStore(response);
    expect(await response.json()).toEqual({ access_token: "x", token_type: "Bearer" });
  });

  test("error statuses", async () => {
    const cases = {
      invalid_request: 400,
      invalid_grant: 400,
      unsupported_grant_type: 400,
      access_denied: 400,
      authorization_pending: 400,
      slow_down: 400,
      expired_token: 400,
      rate_limited: 429,
      server_error: 500,
      temporarily_unavailable: 503,
    } as const;
    for (const [code, status] of Object.entries(cases)) {
      const response = oauthError(code as keyof typeof cases, "why");
      expect(response.status).toBe(status);
      expectNoStore(response);
      expect(await response.json()).toEqual({ error: code, error_description: "why" });
    }
  });

  test("status and Retry-After overrides", () => {
    expect(oauthError("access_denied", "policy", { status: 403 }).status).toBe(403);
    const limited = oauthError("rate_limited", "too many", { retryAfter: 5 });
    expect(limited.headers.get("retry-after")).toBe("5");
  });

  test("error_description stays within the RFC 6749 §5.2 character set", async () => {
    const body = await oauthError("invalid_request", 'bad "x"\\\n\u00e9').json();
    expect(body.error_description).toBe("bad ?x????");
  });

  test("thrown errors map by code; unknown causes do not leak their message", async () => {
    const grant = errorResponse(new OAuthError("invalid_grant", "refresh_token: expired"));
    expect(grant.status).toBe(400);
    expect((await grant.json()).error).toBe("invalid_grant");
    const store = errorResponse(new RendezvousError("temporarily_unavailable", "redis down"), {
      retryAfter: 5,
    });
    expect(store.status).toBe(503);
    expect(store.headers.get("retry-after")).toBe("5");
    const big = errorResponse(new OAuthError("payload_too_large", "request body: too large"));
    expect(big.status).toBe(413);
    expect((await big.json()).error).toBe("invalid_request");
    for (const error of [new Error("secret-token-123"), new IdpError("idp_error", "secret-token-123"), "x"]) {
      const response = errorResponse(error);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain("secret-token-123");
      expect(JSON.parse(text).error).toBe("server_error");
    }
  });
});

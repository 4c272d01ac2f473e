import { describe, expect, test } from "bun:test";
import { problem, problemFor } from "../../../src/proxy/problem.ts";

describe("problem", () => {
  test("is RFC 9457 problem+json with a stable code", async () => {
    const response = problem(403, "host_not_allowed", "proxy: evil.test is not an upstream of provider p");
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.has("www-authenticate")).toBe(false);
    expect(await response.json()).toEqual({
      type: "urn:surrogate:problem:host_not_allowed",
      title: "Host not allowed",
      status: 403,
      code: "host_not_allowed",
      detail: "proxy: evil.test is not an upstream of provider p",
    });
  });

  test.each([
    ["invalid_token", 401, 'Bearer error="invalid_token"'],
    ["binding_mismatch", 401, 'Bearer error="invalid_token"'],
    ["missing_token", 401, "Bearer"],
    ["bad_target", 400, null],
    ["upstream_unreachable", 502, null],
    ["upstream_timeout", 504, null],
  ] as const)("%s → %d with WWW-Authenticate %p (RFC 6750 §3)", async (code, status, challenge) => {
    const response = problemFor(code, "detail");
    expect(response.status).toBe(status);
    expect(response.headers.get("www-authenticate")).toBe(challenge);
    expect(((await response.json()) as { code: string }).code).toBe(code);
  });
});

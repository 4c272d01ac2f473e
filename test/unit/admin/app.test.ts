import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AdminFixture, adminFixture, PASSWORD } from "./fixtures.ts";

let f: AdminFixture;
beforeAll(async () => {
  f = await adminFixture();
});
afterAll(() => f.close());

describe("admin password login and pages", () => {
  test("unauthenticated pages redirect to the login page", async () => {
    const response = await f.send("/admin");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin/login");
  });

  test("login → session cookie (__Host-, HttpOnly, Secure, SameSite=Strict) → overview", async () => {
    const { jar, response } = await f.login();
    expect(response.status).toBe(303);
    const line = response.headers
      .getSetCookie()
      .find((cookie) => cookie.startsWith("__Host-surrogate-admin="));
    expect(line).toContain("HttpOnly");
    expect(line).toContain("Secure");
    expect(line).toContain("SameSite=Strict");
    expect(line).toContain("Path=/");
    expect(line).toContain("Max-Age=900");
    const overview = await f.send("/admin", {}, jar);
    expect(overview.status).toBe(200);
    const body = await overview.text();
    expect(body).toContain("test-instance");
    expect(body).toContain(f.keys.encrypter.kid);
    expect(body).toContain('hx-get="/admin/fragments/overview"');
  });
});

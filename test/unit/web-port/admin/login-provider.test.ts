import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { admit } from "../../../../src/web-port/admin/login-provider.ts";
import { type AdminFixture, adminFixture, cookieJar } from "./fixtures.ts";

const LOGIN_COOKIE = "__Host-surrogate-admin-login";
const SESSION = "__Host-surrogate-admin";

let allowed: AdminFixture;
let refused: AdminFixture;
beforeAll(async () => {
  allowed = await adminFixture({ admin: { allow: ["alice@stub.example"] } });
  refused = await adminFixture({ admin: { allow: ["sub:somebody-else", "bob@stub.example"] } });
});
afterAll(async () => {
  await allowed.close();
  await refused.close();
});

/** Start → IdP (auto-approves) → the callback URL it sends the browser to. */
async function throughIdp(f: AdminFixture) {
  const jar: Record<string, string> = {};
  const start = await f.send("/admin/login/provider", {}, jar);
  expect(start.status).toBe(302);
  cookieJar(start, jar);
  const authorization = new URL(start.headers.get("location") ?? "");
  const callback = await f.idp.authorize(authorization);
  return { jar, authorization, callback };
}

describe("admin login through the OIDC provider", () => {
  test("PKCE S256, state, nonce and the admin redirect URI; an allowed email gets a session", async () => {
    const { jar, authorization, callback } = await throughIdp(allowed);
    expect(authorization.searchParams.get("redirect_uri")).toBe(`${allowed.issuer}/admin/callback`);
    expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorization.searchParams.get("nonce")).toBeTruthy();
    expect(authorization.searchParams.get("scope")).toBe("openid email");
    expect(callback.pathname).toBe("/admin/callback");
    const response = await allowed.send(`${callback.pathname}${callback.search}`, {}, jar);
    expect(response.status).toBe(303);
    cookieJar(response, jar);
    expect(jar[SESSION]).toBeDefined();
    expect(jar[LOGIN_COOKIE]).toBeUndefined();
    const page = await (await allowed.send("/admin", {}, jar)).text();
    expect(page).toContain("alice@stub.example");
    const line = allowed.sink.lines.find((l) => l.includes('"event":"admin.login"')) ?? "";
    expect(JSON.parse(line)).toMatchObject({ method: "provider", sub: allowed.idp.subject, outcome: "ok" });
  });

  test("an account not on the allow-list is refused (403) and audited with its sub", async () => {
    const { jar, callback } = await throughIdp(refused);
    const response = await refused.send(`${callback.pathname}${callback.search}`, {}, jar);
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`))).toBe(false);
    const line = refused.sink.lines.find((l) => l.includes('"reason":"admin_not_allowed"')) ?? "";
    expect(JSON.parse(line)).toMatchObject({ event: "auth.failed", sub: refused.idp.subject });
  });

  test("a callback without this browser's login cookie, or with another state, is refused", async () => {
    const { jar, callback } = await throughIdp(allowed);
    expect((await allowed.send(`${callback.pathname}${callback.search}`)).status).toBe(403);
    const forged = new URL(callback);
    forged.searchParams.set("state", "forged-state");
    expect((await allowed.send(`${forged.pathname}${forged.search}`, {}, jar)).status).toBe(403);
    expect(allowed.sink.lines.some((l) => l.includes('"reason":"admin_login_state"'))).toBe(true);
  });

  test("the IdP's refusal and a bad id_token are refused", async () => {
    allowed.idp.setMode("wrong_nonce");
    try {
      const { jar, callback } = await throughIdp(allowed);
      expect((await allowed.send(`${callback.pathname}${callback.search}`, {}, jar)).status).toBe(403);
    } finally {
      allowed.idp.setMode("normal");
    }
    const { jar, callback } = await throughIdp(allowed);
    const denied = new URL(callback);
    denied.searchParams.delete("code");
    denied.searchParams.set("error", "access_denied");
    expect((await allowed.send(`${denied.pathname}${denied.search}`, {}, jar)).status).toBe(403);
  });
});

describe("admin login: RFC 9207 iss", () => {
  test("the IdP advertised iss: a callback without it is refused, no session", async () => {
    const { jar, callback } = await throughIdp(allowed);
    const stripped = new URL(callback);
    expect(stripped.searchParams.has("iss")).toBe(true);
    stripped.searchParams.delete("iss");
    const response = await allowed.send(`${stripped.pathname}${stripped.search}`, {}, jar);
    expect(response.status).toBe(403);
    expect(cookieJar(response)[SESSION]).toBeUndefined();
  });
});

describe("allow-list decision", () => {
  test("sub:, verified email (case-insensitive); unverified or unstated email refused", () => {
    expect(admit(["sub:1234"], { sub: "1234" })).toMatchObject({ ok: true, who: "sub:1234" });
    expect(
      admit(["Alice@Corp.example"], { sub: "1", email: "alice@corp.example", email_verified: true }).ok,
    ).toBe(true);
    // No email_verified claim at all: some IdPs let users set `email` themselves.
    expect(admit(["alice@corp.example"], { sub: "1", email: "alice@corp.example" }).ok).toBe(false);
    expect(
      admit(["alice@corp.example"], { sub: "1", email: "alice@corp.example", email_verified: false }).ok,
    ).toBe(false);
    expect(admit(["sub:1234"], { sub: "12345" }).ok).toBe(false);
    expect(admit(["alice@corp.example"], { email: "alice@corp.example" }).ok).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AdminFixture, adminFixture, cookieJar } from "./fixtures.ts";

let f: AdminFixture;
let jar: Record<string, string>;
let csrf = "";
const HOSTILE = 'spiffe://corp.example/agents/<script>alert("x")</script>';

beforeAll(async () => {
  f = await adminFixture({ access: true });
  ({ jar } = await f.login());
  const now = f.now();
  const login = { workload: HOSTILE, fingerprint: "AB", provider: "stub", scope: "openid <b>email</b>" };
  await f.accessStore.recordLogin(
    { ...login, sid: "sid-one", sub: "<i>alice</i>", issuedAt: now, expiresAt: now + 3_600_000 },
    undefined,
    now,
  );
  await f.accessStore.recordLogin(
    { ...login, sid: "sid-two", issuedAt: now - 1000, expiresAt: now + 3_600_000 },
    undefined,
    now,
  );
});

afterAll(() => f.close());

async function page(): Promise<string> {
  const response = await f.send("/admin/access", {}, jar);
  cookieJar(response, jar);
  expect(response.status).toBe(200);
  return response.text();
}

describe("admin Access page", () => {
  test("lists recent logins with every value escaped, a Revoke form each, the forms and no token", async () => {
    const html = await page();
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<i>alice</i>");
    expect(html).not.toContain("<b>email</b>");
    expect(html).toContain("&lt;i&gt;alice&lt;/i&gt;");
    expect(html).toContain('data-login="sid-one"');
    expect(html).toContain('hx-get="/admin/fragments/access"');
    csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    expect(csrf).not.toBe("");
    for (const scope of ["login", "workload", "sub", "provider"])
      expect(html).toContain(`name="scope" value="${scope}"`);
  });

  test("Revoke needs the session's CSRF token: a wrong one is 403 and revokes nothing", async () => {
    const refused = await f.post(
      "/admin/access/revoke",
      { csrf: "forged", scope: "login", login: "sid-one" },
      jar,
    );
    expect(refused.status).toBe(403);
    expect(f.revocations.list.rules).toHaveLength(0);
    const signedOut = await f.post("/admin/access/revoke", { csrf, scope: "login", login: "sid-one" });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("location")).toBe("/admin/login");
    expect(f.revocations.list.rules).toHaveLength(0);
  });

  test("Revoke a login: applied at once, shown as revoked and among the active rules, audited with who", async () => {
    const done = await f.post("/admin/access/revoke", { csrf, scope: "login", login: "sid-one" }, jar);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/admin/access");
    expect(f.revocations.list.rules.map((rule) => rule.target)).toEqual([{ login: "sid-one" }]);
    const html = await page();
    expect(html).toMatch(/data-login="sid-one"[\s\S]*?revoked<\/span>/);
    expect(html).toMatch(/data-login="sid-two"[\s\S]*?Revoke<\/button>/);
    const audit = f.sink.lines
      .map((line) => JSON.parse(line))
      .find((line) => line.event === "revocation.created");
    expect(audit).toMatchObject({ by: "admin (password)", scope: "login", login: "sid-one" });
  });

  test("the workload, person and provider forms; bad input is 400 and revokes nothing", async () => {
    for (const form of [
      { scope: "workload", workload: "spiffe://corp.example/agents/*" },
      { scope: "sub", sub: "alice", provider: "stub" },
      { scope: "provider", provider: "stub" },
    ]) {
      expect((await f.post("/admin/access/revoke", { csrf, ...form }, jar)).status).toBe(303);
    }
    expect(f.revocations.list.rules).toHaveLength(4);
    for (const form of [
      { scope: "provider", provider: "unknown" },
      { scope: "workload", workload: "" },
      { scope: "everything" },
    ]) {
      expect((await f.post("/admin/access/revoke", { csrf, ...form }, jar)).status).toBe(400);
    }
    expect(f.revocations.list.rules).toHaveLength(4);
  });

  test("the live fragment needs a session", async () => {
    const live = await f.send("/admin/fragments/access", {}, jar);
    expect(await live.text()).toContain("Active revocations");
    const anonymous = await f.send("/admin/fragments/access");
    expect(await anonymous.text()).toContain("Your session has ended");
  });
});

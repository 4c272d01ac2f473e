import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testGrant } from "../fixtures.ts";
import { type AdminFixture, adminFixture, cookieJar } from "./fixtures.ts";

let f: AdminFixture;
beforeAll(async () => {
  f = await adminFixture();
});
afterAll(() => f.close());

const SESSION = "__Host-surrogate-admin";

function expectSecurityHeaders(response: Response) {
  const csp = response.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  expect(response.headers.get("x-frame-options")).toBe("DENY");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
}

describe("admin password login", () => {
  test("unauthenticated pages redirect to the login page; fragments say the session ended", async () => {
    const response = await f.send("/admin/grants");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin/login");
    const fragment = await f.send("/admin/fragments/grants");
    const body = await fragment.text();
    expect(body).toContain("session has ended");
    expect(body).not.toContain("hx-trigger");
  });

  test("login → session cookie (__Host-, HttpOnly, Secure, SameSite=Strict, idle Max-Age) → overview", async () => {
    const { jar, response } = await f.login();
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin");
    const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${SESSION}=`)) ?? "";
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=900"])
      expect(line).toContain(attribute);
    const overview = await f.send("/admin", {}, jar);
    expect(overview.status).toBe(200);
    expectSecurityHeaders(overview);
    expect(overview.headers.get("cache-control")).toBe("no-store");
    const body = await overview.text();
    expect(body).toContain("test-instance");
    expect(body).toContain(f.keys.encrypter.kid);
    expect(body).toContain('hx-get="/admin/fragments/overview"');
    expect(f.sink.lines.some((l) => l.includes('"event":"admin.login"'))).toBe(true);
  });

  test("a wrong password is refused (401) and audited without the password", async () => {
    const { response } = await f.login("wrong-password-canary");
    expect(response.status).toBe(401);
    expect(await response.text()).toContain("Wrong password");
    expect(response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`))).toBe(false);
    expect(f.sink.lines.some((l) => l.includes('"reason":"admin_password"'))).toBe(true);
    expect(f.sink.lines.join("\n")).not.toContain("wrong-password-canary");
  });

  test("login without the CSRF token is refused (403)", async () => {
    const response = await f.post("/admin/login", { password: "correct horse battery staple" });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`))).toBe(false);
  });

  test("after 5 wrong passwords even the right one is refused for a minute (429)", async () => {
    const g = await adminFixture();
    try {
      for (let i = 0; i < 5; i += 1) expect((await g.login("nope")).response.status).toBe(401);
      expect((await g.login()).response.status).toBe(429);
      g.clock.offset += 61_000;
      expect((await g.login()).response.status).toBe(303);
    } finally {
      await g.close();
    }
  });

  test("the session ends after session_idle without page views; polling does not extend it", async () => {
    const g = await adminFixture();
    try {
      const { jar } = await g.login();
      g.clock.offset += 600_000;
      const fragment = await g.send("/admin/fragments/traffic", {}, jar);
      expect(fragment.headers.getSetCookie()).toEqual([]);
      expect(await fragment.text()).toContain("hx-trigger");
      const page = await g.send("/admin/traffic", {}, jar);
      expect(page.status).toBe(200);
      cookieJar(page, jar);
      g.clock.offset += 600_000; // 10 min after the page view: still inside the idle window
      expect((await g.send("/admin", {}, jar)).status).toBe(200);
      g.clock.offset += 901_000;
      expect((await g.send("/admin", {}, jar)).status).toBe(303);
    } finally {
      await g.close();
    }
  });

  test("a tampered or foreign session cookie is not a session", async () => {
    const { jar } = await f.login();
    const value = jar[SESSION] ?? "";
    const tampered = `${value.slice(0, -4)}${value.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    expect((await f.send("/admin", {}, { [SESSION]: tampered })).status).toBe(303);
    const other = await adminFixture();
    try {
      expect((await other.send("/admin", {}, { [SESSION]: value })).status).toBe(303);
    } finally {
      await other.close();
    }
  });

  test("logout needs the session's CSRF token, then clears the cookie", async () => {
    const { jar } = await f.login();
    const page = await (await f.send("/admin", {}, jar)).text();
    const csrf = /action="\/admin\/logout"><input type="hidden" name="csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf).toBeDefined();
    expect((await f.post("/admin/logout", { csrf: "forged" }, jar)).status).toBe(403);
    expect((await f.send("/admin", {}, jar)).status).toBe(200);
    const out = await f.post("/admin/logout", { csrf: csrf ?? "" }, jar);
    expect(out.status).toBe(303);
    expect(
      out.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=;`) && c.includes("Max-Age=0")),
    ).toBe(true);
  });
});

describe("admin pages", () => {
  test("grants page lists live grants with every agent value escaped", async () => {
    const { jar } = await f.login();
    const grant = testGrant(f.now(), {
      workload: 'spiffe://test.example/agents/"><img src=x onerror=alert(1)>',
      scope: ["<script>alert(1)</script>", "read"],
    });
    await f.store.create(grant, f.now());
    const response = await f.send("/admin/fragments/grants", {}, jar);
    expectSecurityHeaders(response);
    const body = await response.text();
    expect(body).toContain(`data-grant="${grant.id}"`);
    expect(body).toContain("&lt;script&gt;alert(1)&lt;/script&gt; read");
    expect(body).not.toContain("<script>alert(1)");
    expect(body).not.toContain("<img src=x");
    expect(body).toContain('hx-trigger="every 1s"');
    await f.store.transition(grant.id, "pending", "approved", f.now());
    expect(await (await f.send("/admin/fragments/grants", {}, jar)).text()).toContain(
      'class="pill approved"',
    );
  });

  test("an expired grant stays listed as expired", async () => {
    const g = await adminFixture();
    try {
      const { jar } = await g.login();
      const grant = testGrant(g.now(), { expiresAt: g.now() + 5_000 });
      await g.store.create(grant, g.now());
      expect(await (await g.send("/admin/fragments/grants", {}, jar)).text()).toContain("pill pending");
      g.clock.offset += 6_000;
      expect(await (await g.send("/admin/fragments/grants", {}, jar)).text()).toContain("pill expired");
    } finally {
      await g.close();
    }
  });

  test("traffic page shows the last minute and recent audit events, escaped", async () => {
    const { jar } = await f.login();
    f.logger.access({
      provider: "stub",
      host: "api.stub.example",
      status: 200,
      duration_ms: 42,
      cache: "miss",
    });
    f.logger.audit("grant.created", { workload: "<b>w</b>", outcome: "created" });
    const body = await (await f.send("/admin/traffic", {}, jar)).text();
    expect(body).toContain("api.stub.example");
    expect(body).toContain("42 ms");
    expect(body).toContain("0.0 %");
    expect(body).toContain("workload=&lt;b&gt;w&lt;/b&gt;");
  });

  test("the admin stylesheet is embedded and cacheable; unknown admin paths are 404 with headers", async () => {
    const css = await f.send("/static/admin.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(css.headers.get("cache-control")).toContain("immutable");
    const missing = await f.send("/admin/nothing-here");
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
  });
});

describe("without [admin]", () => {
  test("every /admin path answers 404; /readyz and /metrics still work", async () => {
    const g = await adminFixture({ admin: false });
    try {
      for (const path of [
        "/admin",
        "/admin/login",
        "/admin/grants",
        "/admin/fragments/grants",
        "/admin/callback",
        "/admin/x",
      ]) {
        const response = await g.send(path);
        expect(response.status).toBe(404);
        expectSecurityHeaders(response);
      }
      expect((await g.post("/admin/login", { password: "x" })).status).toBe(404);
      expect((await g.send("/readyz")).status).toBe(200);
      expect((await g.send("/metrics")).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { formatUserCode } from "../../../src/broker/codes.ts";
import { CSRF_COOKIE, setCookieLine, type WebFixture, webFixture } from "./fixtures.ts";

let fx: WebFixture;
beforeAll(async () => {
  fx = await webFixture();
});
afterAll(() => fx.close());

describe("GET /device", () => {
  test("without a code shows the form, which works without JavaScript (plain GET form)", async () => {
    const response = await fx.get("/device");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await response.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain('<form method="get" action="/device"');
    expect(html).toContain('name="user_code"');
  });

  test("a valid code shows who is asking, for what, with a CSRF cookie", async () => {
    const grant = await fx.grant({ scope: ["openid", "repo:read"] });
    const response = await fx.get(`/device?user_code=${formatUserCode(grant.userCode).toLowerCase()}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    // The SPIFFE ID may wrap only after a "/": a <wbr> follows each one.
    expect(html).toContain(grant.workload.replaceAll("/", "/<wbr>"));
    expect(html.replaceAll("<wbr>", "")).toContain(grant.workload);
    expect(html).toContain(grant.fingerprint);
    expect(html).toContain(formatUserCode(grant.userCode));
    expect(html).toContain("repo:read");
    expect(html).toContain(">stub<");
    expect(html).toMatch(/\d+ min \d+ s left/);
    expect(html).toContain('hx-get="/device/time?grant=');
    const line = setCookieLine(response, CSRF_COOKIE);
    expect(line).toContain("HttpOnly");
    expect(line).toContain("Secure");
    expect(line).toContain("SameSite=Strict");
    expect(line).toContain("Path=/");
    expect(line).not.toContain("Domain");
  });

  test("an existing well-formed CSRF cookie is reused, not replaced", async () => {
    const grant = await fx.grant();
    const cookie = "a".repeat(43);
    const response = await fx.get(`/device?user_code=${grant.userCode}`, { [CSRF_COOKIE]: cookie });
    expect(response.status).toBe(200);
    expect(setCookieLine(response, CSRF_COOKIE)).toBeUndefined();
  });

  test("agent-supplied workload and scopes are escaped, never raw HTML", async () => {
    const hostile = `spiffe://test.example/"><script>alert(1)</script>`;
    const grant = await fx.grant({ workload: hostile, scope: [`<script>x</script>`, `"onmouseover="y`] });
    const html = await (await fx.get(`/device?user_code=${grant.userCode}`)).text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).not.toContain("<script>x</script>");
    expect(html).not.toContain(`"onmouseover="y`);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/<wbr>script&gt;");
    expect(html).toContain("&quot;&gt;&lt;script&gt;");
    expect(html).toContain("&quot;onmouseover=&quot;y");
  });

  test("unknown and expired codes get the same 404 page (no oracle)", async () => {
    const expired = await fx.grant({ expiresAt: fx.now() + 1000 });
    fx.clock.offset = 2000;
    const gone = await fx.get(`/device?user_code=${expired.userCode}`);
    fx.clock.offset = 0;
    const unknown = await fx.get("/device?user_code=BBBB-BBBB");
    expect(gone.status).toBe(404);
    expect(unknown.status).toBe(404);
    const [a, b] = [await gone.text(), await unknown.text()];
    expect(a).toBe(b);
    expect(a).toContain("This request has expired or does not exist");
    expect(a).toContain("run the login again in your agent");
  });

  test("a malformed code re-shows the form with the entry escaped", async () => {
    const response = await fx.get(`/device?user_code=${encodeURIComponent('"><img src=x>')}`);
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).not.toContain("<img src=x>");
    expect(html).toContain('value="&quot;&gt;&lt;img src=x&gt;"');
  });

  test.each([
    ["denied", "You denied this request", "Nothing was issued"],
    ["approved", "You approved this request", "has not finished yet"],
    ["complete", "You approved this request", "the agent has received its token"],
  ] as const)(
    "reloading a %s grant says what happened in words, not a 409 or a code",
    async (status, title, line) => {
      const grant = await fx.grant({ status });
      const response = await fx.get(`/device?user_code=${grant.userCode}`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain(title);
      expect(html).toContain(line);
      expect(html).not.toContain('action="/device/approve"');
      expect(html).not.toContain("Details for your administrator");
    },
  );

  test("the consent page names the provider's sign-in and the hosts the agent can then reach", async () => {
    const grant = await fx.grant();
    const html = await (await fx.get(`/device?user_code=${grant.userCode}`)).text();
    expect(html).toContain("<dt>It can reach</dt>");
    expect(html).toMatch(
      /Approve takes you to stub \(127\.0\.0\.1:\d+\) to sign in\. After that, the agent can call api\.stub\.example as you/,
    );
  });

  test("/ sends a person to the code form", async () => {
    const response = await fx.get("/");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/device");
  });
});

describe("wrong-code rate limit (RFC 8628 §5.1)", () => {
  test("after 10 misses a client is refused, even for a valid code; other clients are not", async () => {
    let address = "198.51.100.7";
    const limited = await webFixture({ clientAddress: () => address });
    try {
      const grant = await limited.grant();
      for (let i = 0; i < 10; i += 1) {
        expect((await limited.get("/device?user_code=BBBB-BBBB")).status).toBe(404);
      }
      const refused = await limited.get(`/device?user_code=${grant.userCode}`);
      expect(refused.status).toBe(429);
      expect(await refused.text()).not.toContain(grant.workload);
      address = "198.51.100.8";
      expect((await limited.get(`/device?user_code=${grant.userCode}`)).status).toBe(200);
      address = "198.51.100.7";
      limited.clock.offset = 61_000;
      expect((await limited.get(`/device?user_code=${grant.userCode}`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("GET /device/time", () => {
  test("a pending grant gets a fresh countdown that keeps polling", async () => {
    const grant = await fx.grant({ expiresAt: fx.now() + 125_000 });
    const html = await (await fx.get(`/device/time?grant=${grant.id}`)).text();
    expect(html).toMatch(/2 min \d+ s left/);
    expect(html).toContain('hx-trigger="every 5s"');
    expect(html).toContain('hx-swap="outerHTML"');
  });

  test("an unknown, expired or answered grant stops the polling", async () => {
    const answered = await fx.grant({ status: "approved" });
    for (const id of ["AAAAAAAAAAAAAAAAAAAAAA", "not valid!", answered.id]) {
      const response = await fx.get(`/device/time?grant=${encodeURIComponent(id)}`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).not.toContain("hx-trigger");
      expect(html).toMatch(/expired|already been answered/);
    }
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { openFlow } from "../../../src/web-port/consent/flow-cookie.ts";
import {
  CSRF_COOKIE,
  FLOW_COOKIE,
  form,
  openConsent,
  setCookieLine,
  setCookies,
  submitApprove,
  type WebFixture,
  webFixture,
} from "./fixtures.ts";

let fx: WebFixture;
beforeAll(async () => {
  fx = await webFixture();
});
afterAll(() => fx.close());

async function statusOf(id: string) {
  return (await fx.store.getById(id, fx.now()))?.status;
}

describe("CSRF on approve and deny", () => {
  for (const action of ["approve", "deny"]) {
    test(`${action}: missing cookie, missing token, wrong token, token of another grant → 403, grant unchanged`, async () => {
      const grant = await fx.grant();
      const other = await fx.grant();
      const consent = await openConsent(fx, grant);
      const otherConsent = await openConsent(fx, other);
      const attempts = [
        { body: form({ grant: grant.id, csrf: consent.token }), cookies: {} },
        { body: form({ grant: grant.id }), cookies: consent.cookies },
        { body: form({ grant: grant.id, csrf: "x".repeat(43) }), cookies: consent.cookies },
        { body: form({ grant: grant.id, csrf: otherConsent.token }), cookies: otherConsent.cookies },
        { body: form({ grant: grant.id, csrf: consent.token }), cookies: { [CSRF_COOKIE]: "short" } },
      ];
      for (const attempt of attempts) {
        const response = await fx.post(`/device/${action}`, attempt.body, attempt.cookies);
        expect(response.status).toBe(403);
        expect(await response.text()).toContain("csrf_invalid");
        expect(response.headers.get("location")).toBeNull();
      }
      expect(await statusOf(grant.id)).toBe("pending");
    });

    test(`${action}: a cross-site submission is refused even with a valid token (Sec-Fetch-Site)`, async () => {
      const grant = await fx.grant();
      const consent = await openConsent(fx, grant);
      const body = form({ grant: grant.id, csrf: consent.token });
      const response = await fx.post(`/device/${action}`, body, consent.cookies, {
        "sec-fetch-site": "cross-site",
      });
      expect(response.status).toBe(403);
      expect(await statusOf(grant.id)).toBe("pending");
    });
  }
});

describe("POST /device/deny", () => {
  test("denies a pending grant once, audits it, and a second answer is refused", async () => {
    const grant = await fx.grant();
    const consent = await openConsent(fx, grant);
    const body = form({ grant: grant.id, csrf: consent.token });
    const response = await fx.post("/device/deny", body, consent.cookies, {
      "sec-fetch-site": "same-origin",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Request denied");
    expect(await statusOf(grant.id)).toBe("denied");
    expect(fx.logger.lines.some((line) => line.includes('"event":"consent.denied"'))).toBe(true);
    expect((await fx.post("/device/approve", body, consent.cookies)).status).toBe(409);
    expect(await statusOf(grant.id)).toBe("denied");
  });
});

describe("POST /device/approve", () => {
  test("302 to the IdP with S256 PKCE, state and nonce; the flow is sealed in a __Host- cookie", async () => {
    const grant = await fx.grant({ scope: ["openid", "email"] });
    const response = await submitApprove(fx, grant);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe(`${fx.idp.issuer}/authorize`);
    const params = location.searchParams;
    expect(params.get("response_type")).toBe("code");
    expect(params.get("redirect_uri")).toBe("https://broker.test.example/callback");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("scope")).toBe("openid email");

    const line = setCookieLine(response, FLOW_COOKIE) ?? "";
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"])
      expect(line).toContain(attribute);
    const maxAge = Number(line.match(/Max-Age=(\d+)/)?.[1]);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(600);

    const flow = await openFlow(setCookies(response)[FLOW_COOKIE] ?? "", fx.keys, fx.now());
    expect(flow.grantId).toBe(grant.id);
    expect(params.get("state")).toBe(flow.state);
    expect(params.get("nonce")).toBe(flow.nonce ?? "missing");
    const challenge = createHash("sha256").update(flow.verifier.reveal()).digest("base64url");
    expect(params.get("code_challenge")).toBe(challenge);
    // ≥ 128 bits each (RFC 6749 §10.10, RFC 7636 §7.1): 32 random bytes → 43 base64url characters.
    for (const value of [flow.state, flow.verifier.reveal(), flow.nonce ?? ""])
      expect(value).toMatch(/^[\w-]{43}$/);
    // The cookie does not expose the verifier or state to the browser.
    expect(line).not.toContain(flow.verifier.reveal());
    expect(line).not.toContain(flow.state);

    expect(await statusOf(grant.id)).toBe("approved");
    expect(fx.logger.lines.some((entry) => entry.includes('"event":"consent.approved"'))).toBe(true);
  });

  test("two approvals of one grant: the second is refused with no redirect", async () => {
    const grant = await fx.grant();
    const consent = await openConsent(fx, grant);
    const body = form({ grant: grant.id, csrf: consent.token });
    expect((await fx.post("/device/approve", body, consent.cookies)).status).toBe(302);
    const second = await fx.post("/device/approve", body, consent.cookies);
    expect(second.status).toBe(409);
    expect(second.headers.get("location")).toBeNull();
  });

  test("an expired grant cannot be approved", async () => {
    const grant = await fx.grant({ expiresAt: fx.now() + 1000 });
    const consent = await openConsent(fx, grant);
    fx.clock.offset = 2000;
    const response = await fx.post(
      "/device/approve",
      form({ grant: grant.id, csrf: consent.token }),
      consent.cookies,
    );
    fx.clock.offset = 0;
    expect(response.status).toBe(404);
  });
});

describe("form limits", () => {
  test("a body over 8 KiB is refused with 413 (declared or chunked), grant unchanged", async () => {
    const grant = await fx.grant();
    const consent = await openConsent(fx, grant);
    const big = form({ grant: grant.id, csrf: consent.token, pad: "x".repeat(9000) });
    expect((await fx.post("/device/approve", big, consent.cookies)).status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i += 1) controller.enqueue(new TextEncoder().encode("x".repeat(1000)));
        controller.close();
      },
    });
    const chunked = await fx.app.handle(
      new Request("https://broker.test.example/device/approve", {
        method: "POST",
        body: stream,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie: `${CSRF_COOKIE}=${consent.cookies[CSRF_COOKIE]}`,
        },
      }),
    );
    expect(chunked.status).toBe(413);
    expect(await statusOf(grant.id)).toBe("pending");
  });

  test("repeated parameters and non-form bodies are refused with 400", async () => {
    const grant = await fx.grant();
    const consent = await openConsent(fx, grant);
    const twice = `${form({ grant: grant.id, csrf: consent.token })}&csrf=${consent.token}`;
    expect((await fx.post("/device/approve", twice, consent.cookies)).status).toBe(400);
    const json = await fx.post(
      "/device/approve",
      JSON.stringify({ grant: grant.id, csrf: consent.token }),
      consent.cookies,
      {
        "content-type": "application/json",
      },
    );
    expect(json.status).toBe(400);
    expect(await statusOf(grant.id)).toBe("pending");
  });
});

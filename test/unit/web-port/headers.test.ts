import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HTMX, STYLESHEET } from "../../../ui/assets.ts";
import { form, ISSUER, submitApprove, type WebFixture, webFixture } from "./fixtures.ts";

let fx: WebFixture;
let userCode: string;
beforeAll(async () => {
  fx = await webFixture();
  userCode = (await fx.grant()).userCode;
});
afterAll(() => fx.close());

function expectSecurityHeaders(response: Response, where: string) {
  const csp = response.headers.get("content-security-policy") ?? "";
  expect(csp, where).toContain("default-src 'none'");
  expect(csp, where).toContain("script-src 'self'");
  expect(csp, where).toContain("style-src 'self'");
  expect(csp, where).toContain("frame-ancestors 'none'");
  expect(csp, where).toContain("base-uri 'none'");
  expect(csp, where).not.toContain("unsafe-inline");
  expect(csp, where).not.toContain("unsafe-eval");
  expect(response.headers.get("x-frame-options"), where).toBe("DENY");
  expect(response.headers.get("referrer-policy"), where).toBe("no-referrer");
  expect(response.headers.get("x-content-type-options"), where).toBe("nosniff");
}

describe("security headers on every response", () => {
  test("pages, fragments, errors, 404 and POSTs all carry them, with no-store", async () => {
    const responses: Array<[string, Response]> = [
      ["form", await fx.get("/device")],
      ["consent", await fx.get(`/device?user_code=${userCode}`)],
      ["unknown code", await fx.get("/device?user_code=BBBB-BBBB")],
      ["fragment", await fx.get("/device/time?grant=AAAAAAAAAAAAAAAAAAAAAA")],
      ["callback without cookie", await fx.get("/callback?code=x&state=y")],
      ["jwks", await fx.get("/.well-known/jwks.json")],
      ["healthz", await fx.get("/healthz")],
      ["404", await fx.get("/nothing/here")],
      ["wrong method", await fx.app.handle(new Request(`${ISSUER}/device`, { method: "DELETE" }))],
      ["csrf failure", await fx.post("/device/deny", form({ grant: "x", csrf: "y" }))],
      ["bad body", await fx.post("/device/deny", "a=1&a=2")],
    ];
    for (const [where, response] of responses) {
      expectSecurityHeaders(response, where);
      expect(response.headers.get("cache-control"), where).toBe("no-store");
    }
  });

  test("the redirect to the IdP carries them too", async () => {
    const grant = await fx.grant();
    const response = await submitApprove(fx, grant);
    expect(response.status).toBe(302);
    expectSecurityHeaders(response, "approve");
  });

  test("form-action allows our origin and the IdP's authorization origin, nothing else", async () => {
    const csp = (await fx.get("/device")).headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`form-action 'self' ${fx.idp.issuer};`);
  });

  test("an unexpected failure renders a generic page with the headers, no internal message", async () => {
    const broken = { ...fx.store, getByUserCode: () => Promise.reject(new Error("internal detail")) };
    const { createWebPort } = await import("../../../src/web-port/port.ts");
    const { Observer } = await import("../../../src/ops/metrics/observer.ts");
    const app = createWebPort(
      (await import("./fixtures.ts")).webConfig(ISSUER, {}),
      { providers: new Map(), store: broken, keys: () => fx.keys, fetch, now: fx.now, logger: fx.logger },
      new Observer({ providers: new Map(), now: fx.now }),
    );
    const response = await app.handle(new Request(`${ISSUER}/device?user_code=BBBB-BBBB`));
    expect(response.status).toBe(500);
    expectSecurityHeaders(response, "500");
    const html = await response.text();
    expect(html).not.toContain("internal detail");
    expect(html).toContain("server_error");
  });
});

describe("static assets, served from the binary", () => {
  test("htmx and the stylesheet: right type, long cache, nosniff, referenced by hashed URL", async () => {
    const page = await (await fx.get("/device")).text();
    for (const asset of [HTMX, STYLESHEET]) {
      expect(page).toContain(asset.url);
      const response = await fx.get(asset.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(asset.contentType);
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await response.text()).toBe(asset.body);
    }
    expect(HTMX.body).toContain("4.0.1");
  });
});

describe("no inline script or style anywhere", () => {
  test("every page loads script and style only from /static", async () => {
    const grant = await fx.grant();
    const pages = [
      await (await fx.get("/device")).text(),
      await (await fx.get(`/device?user_code=${grant.userCode}`)).text(),
      await (await fx.get("/callback")).text(),
      await (await fx.get("/nope")).text(),
    ];
    for (const html of pages) {
      expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/static\/)/);
      expect(html).not.toMatch(/<style/);
      expect(html).not.toMatch(/\sstyle=/);
      expect(html).not.toMatch(/\son[a-z]+=/);
      expect(html).not.toContain("https://");
    }
  });

  test("htmx's own injected indicator CSS is switched off via its meta config", async () => {
    const html = await (await fx.get("/device")).text();
    expect(html).toContain('<meta name="htmx-config" content="includeIndicatorCSS:false');
  });
});

describe("JWKS and health", () => {
  test("the JWKS holds public keys only", async () => {
    const response = await fx.get("/.well-known/jwks.json");
    expect(response.headers.get("content-type")).toBe("application/jwk-set+json");
    const body = (await response.json()) as { keys: Array<Record<string, unknown>> };
    expect(body.keys.length).toBeGreaterThan(0);
    for (const key of body.keys) {
      expect(key.d).toBeUndefined();
      expect(key.k).toBeUndefined();
      expect(typeof key.kid).toBe("string");
    }
  });

  test("/healthz answers ok", async () => {
    const response = await fx.get("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
  });
});

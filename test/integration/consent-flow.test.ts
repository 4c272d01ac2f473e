/**
 * The person's side of a login, end to end over real sockets: the agent creates a grant through the
 * real agent API (with a real client certificate), a browser with a cookie jar opens the consent
 * page, approves, follows the redirect to the real stub IdP, comes back to /callback, and the agent
 * collects a wrapper that verifies, is bound to its certificate, and opens to the IdP's real token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { openWrapper } from "../../src/core/token/open.ts";
import { verifyWrapper } from "../../src/core/token/verify.ts";
import { Browser } from "../helpers/browser.ts";
import { testPki } from "../helpers/pki.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startWebHarness, type WebHarness } from "../helpers/web-harness.ts";
import { stubProviderConfig, webConfig } from "../unit/web-port/fixtures.ts";

interface Harness extends WebHarness {
  idp: StubIdp;
}

let h: Harness;

async function harness(): Promise<Harness> {
  let idp: StubIdp | undefined;
  const web = await startWebHarness({
    configure: async (issuer) => {
      idp = await startStubIdp({ redirectUris: [`${issuer}/callback`] });
      return webConfig(issuer, { stub: stubProviderConfig(idp) });
    },
    release: async () => idp?.close(),
  });
  return { ...web, idp: idp! };
}

beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

async function login(): Promise<{
  device_code: string;
  verification_uri_complete: string;
  user_code: string;
}> {
  const response = await h.agent("/v1/grants", { provider: "stub" });
  expect(response.status).toBe(200);
  return response.json();
}

function poll(deviceCode: string) {
  return h.agent("/v1/token", {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: deviceCode,
  });
}

describe("consent flow through a browser and the stub IdP", () => {
  test("approve → IdP → callback → the agent collects a bound wrapper of the real token", async () => {
    const grant = await login();
    expect(grant.verification_uri_complete.startsWith(`${h.issuer}/device?user_code=`)).toBe(true);
    const browser = new Browser();
    const consent = await browser.open(grant.verification_uri_complete);
    expect(consent.status).toBe(200);
    expect(consent.body.replaceAll("<wbr>", "")).toContain("spiffe://test.example/agents/alpha");
    expect(consent.body).toContain(grant.user_code);

    const done = await browser.submit("/device/approve", Browser.hiddenFields(consent));
    expect(done.url.href.startsWith(`${h.issuer}/callback?`)).toBe(true);
    expect(done.status).toBe(200);
    expect(done.body).toContain("You can close this tab");
    expect(
      h.idp.requests.some((r) => r.path === "/authorize" && r.params.code_challenge_method === "S256"),
    ).toBe(true);
    expect(browser.cookie(new URL(h.issuer).host, "surrogate-flow")).toBeUndefined();

    const collected = await poll(grant.device_code);
    expect(collected.status).toBe(200);
    const body = (await collected.json()) as { access_token: string; refresh_token?: string };
    const real = h.idp.lastIssued.accessToken ?? "";
    expect(real.startsWith("stub-real-access-") || real.split(".").length === 3).toBe(true);
    const wrapper = await verifyWrapper(body.access_token, "access", h.keys, {
      issuer: h.issuer,
      now: Date.now(),
    });
    expect(wrapper.binding).toEqual({
      kind: "x5t#S256",
      value: describeCertificate((await testPki()).alpha.der).thumbprint,
    });
    expect((await openWrapper(wrapper, h.keys)).token.reveal()).toBe(real);

    for (const page of browser.pages) {
      expect(page.body).not.toContain(real);
      if (h.idp.lastIssued.refreshToken) expect(page.body).not.toContain(h.idp.lastIssued.refreshToken);
    }
    expect(h.sink.lines.join("\n")).not.toContain(real);
    expect((await poll(grant.device_code)).status).not.toBe(200);
  });

  test("deny in the browser → the agent is told access_denied", async () => {
    const grant = await login();
    const browser = new Browser();
    const consent = await browser.open(grant.verification_uri_complete);
    const denied = await browser.submit("/device/deny", Browser.hiddenFields(consent));
    expect(denied.status).toBe(200);
    expect(denied.body).toContain("Request denied");
    const answer = await poll(grant.device_code);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe("access_denied");
  });

  test("a second browser that never approved cannot finish the first one's sign-in", async () => {
    const grant = await login();
    const person = new Browser();
    const consent = await person.open(grant.verification_uri_complete);
    // Stop at the IdP: take the callback URL it produces, and hand it to another browser.
    const fields = Browser.hiddenFields(consent);
    const approve = await fetch(`${h.issuer}/device/approve`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `surrogate-csrf=${person.cookie(new URL(h.issuer).host, "surrogate-csrf")}`,
      },
      body: new URLSearchParams(fields).toString(),
    });
    const callback = await h.idp.authorize(approve.headers.get("location") ?? "");
    const attacker = new Browser();
    const page = await attacker.open(callback);
    expect(page.status).toBe(400);
    expect(page.body).toContain("state_invalid");
    const answer = await poll(grant.device_code);
    expect(((await answer.json()) as { error: string }).error).toBe("authorization_pending");
  });
});

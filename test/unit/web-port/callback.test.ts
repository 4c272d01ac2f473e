import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { openWrapper } from "../../../src/core/token/open.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { FLOW_COOKIE, ISSUER, setCookieLine, throughIdp, type WebFixture, webFixture } from "./fixtures.ts";

let fx: WebFixture;
beforeAll(async () => {
  fx = await webFixture();
});
afterAll(() => fx.close());
afterEach(() => fx.idp.setMode("normal"));

async function statusOf(id: string) {
  return (await fx.store.getById(id, fx.now()))?.status;
}

function withParam(path: string, name: string, value: string | null): string {
  const url = new URL(path, ISSUER);
  if (value === null) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  return `${url.pathname}${url.search}`;
}

describe("GET /callback: success", () => {
  test("exchanges the code, mints bound wrappers, delivers once, clears the cookie; the page holds no token", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const response = await fx.get(callbackPath, cookies);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("You can close this tab");
    expect(setCookieLine(response, FLOW_COOKIE)).toContain("Max-Age=0");
    const real = fx.idp.lastIssued.accessToken ?? "";
    expect(real.length).toBeGreaterThan(0);
    expect(html).not.toContain(real);
    expect(html).not.toContain("stub-real-");

    expect(await statusOf(grant.id)).toBe("complete");
    const result = JSON.parse((await fx.store.take(grant.deviceKey, fx.now())) ?? "{}");
    expect(result.token_type).toBe("Bearer");
    expect(JSON.stringify(result)).not.toContain(real);
    const wrapper = await verifyWrapper(result.access_token, "access", fx.keys, {
      issuer: ISSUER,
      now: fx.now(),
    });
    expect(wrapper.binding).toEqual({ kind: "x5t#S256", value: grant.thumbprint });
    expect(wrapper.provider).toBe("stub");
    expect(wrapper.claims.sub).toBe(fx.idp.subject);
    expect((await openWrapper(wrapper, fx.keys)).token.reveal()).toBe(real);
    expect(fx.logger.lines.some((line) => line.includes('"event":"token.minted"'))).toBe(true);
    expect(fx.logger.lines.join("\n")).not.toContain(real);
  });

  test("replaying the same callback is refused as already used, nothing new delivered", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    expect((await fx.get(callbackPath, cookies)).status).toBe(200);
    await fx.store.take(grant.deviceKey, fx.now());
    const replay = await fx.get(callbackPath, cookies);
    expect(replay.status).toBe(409);
    expect(await replay.text()).toContain("Already used");
    expect(await fx.store.take(grant.deviceKey, fx.now())).toBeUndefined();
  });
});

describe("GET /callback: the grant expires while the IdP answers", () => {
  test("the page says expired (not 'already used') and nothing is delivered", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const held = fx.idp.hold();
    const pending = fx.get(callbackPath, cookies);
    // While the token request is held at the IdP, the grant's lifetime runs out.
    await held.arrived;
    fx.clock.offset += grant.expiresAt - fx.now() + 1000;
    held.release();
    try {
      const response = await pending;
      expect(response.status).toBe(404);
      expect(await response.text()).toContain("This request has expired or does not exist");
      expect(await fx.store.take(grant.deviceKey, fx.now())).toBeUndefined();
    } finally {
      fx.clock.offset = 0;
    }
  });
});

describe("GET /callback: flows we cannot tie to this browser", () => {
  test("no flow cookie (another browser), forged state, missing state, tampered or foreign cookie → 400, grant untouched", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const sealed = cookies[FLOW_COOKIE];
    const other = await webFixture();
    const foreign = await throughIdp(other, await other.grant());
    await other.close();
    const tampered = `${sealed.slice(0, -4)}${sealed.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const attempts: Array<[string, Record<string, string>]> = [
      [callbackPath, {}],
      [withParam(callbackPath, "state", "forged-state-value-forged-state-value-abcd"), cookies],
      [withParam(callbackPath, "state", null), cookies],
      [`${callbackPath}&state=second`, cookies],
      [callbackPath, { [FLOW_COOKIE]: tampered }],
      [callbackPath, { [FLOW_COOKIE]: "not-a-jwe" }],
      [callbackPath, foreign.cookies],
    ];
    for (const [path, jar] of attempts) {
      const response = await fx.get(path, jar);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("state_invalid");
    }
    expect(await statusOf(grant.id)).toBe("approved");
    // The genuine callback still works afterwards: failed forgeries did not burn the flow.
    expect((await fx.get(callbackPath, cookies)).status).toBe(200);
  });

  test("a wrong-state callback does not clear the browser's flow cookie", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const response = await fx.get(withParam(callbackPath, "state", "x"), cookies);
    expect(setCookieLine(response, FLOW_COOKIE)).toBeUndefined();
  });

  test("an expired flow is refused even if the browser still sends the cookie", async () => {
    const grant = await fx.grant({ expiresAt: fx.now() + 60_000 });
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    fx.clock.offset = 61_000;
    const response = await fx.get(callbackPath, cookies);
    fx.clock.offset = 0;
    expect(response.status).toBe(400);
  });
});

describe("GET /callback: RFC 9207 iss", () => {
  test("a mismatched iss is refused and the grant stays approved; a matching one completes", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const wrong = await fx.get(withParam(callbackPath, "iss", "https://evil.example"), cookies);
    expect(wrong.status).toBe(400);
    expect(await statusOf(grant.id)).toBe("approved");
    const right = await fx.get(callbackPath, cookies);
    expect(right.status).toBe(200);
  });

  test("an IdP that advertised iss support (discovery) must send it: absent iss → 400, nothing minted", async () => {
    // The stub's discovery document says authorization_response_iss_parameter_supported: true.
    expect(fx.providers.get("stub")?.oauth?.requireIss).toBe(true);
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const absent = await fx.get(withParam(callbackPath, "iss", null), cookies);
    expect(absent.status).toBe(400);
    expect(await absent.text()).toContain("state_invalid");
    expect(await statusOf(grant.id)).toBe("approved");
    expect(
      fx.logger.lines.some((line) => line.includes(grant.workload) && line.includes("token.minted")),
    ).toBe(false);
  });

  test("an IdP configured without discovery (no iss promise): absent iss is accepted", async () => {
    const fixed = await webFixture({
      providerExtra: (idp) => ({
        kind: "oauth2",
        scopes: [],
        authorizationEndpoint: `${idp.issuer}/authorize`,
        tokenEndpoint: `${idp.issuer}/token`,
      }),
    });
    try {
      expect(fixed.providers.get("stub")?.oauth?.requireIss).toBeUndefined();
      // Plain OAuth: no openid scope, so the stub asks for no nonce.
      const grant = await fixed.grant({ scope: ["read"] });
      const { cookies, callbackPath } = await throughIdp(fixed, grant);
      const absent = await fixed.get(withParam(callbackPath, "iss", null), cookies);
      expect(absent.status).toBe(200);
      expect((await fixed.store.getById(grant.id, fixed.now()))?.status).toBe("complete");
    } finally {
      await fixed.close();
    }
  });
});

describe("GET /callback: IdP answers", () => {
  test("error=access_denied marks the grant denied", async () => {
    fx.idp.setMode("deny");
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    expect(callbackPath).toContain("error=access_denied");
    const response = await fx.get(callbackPath, cookies);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Request denied");
    expect(await statusOf(grant.id)).toBe("denied");
  });

  test("another error puts the grant back to pending so the person can retry; the error is shown only if plain", async () => {
    const grant = await fx.grant();
    const { cookies, callbackPath } = await throughIdp(fx, grant);
    const url = withParam(withParam(callbackPath, "code", null), "error", "temporarily_unavailable");
    const response = await fx.get(url, cookies);
    expect(response.status).toBe(502);
    expect(await response.text()).toContain("temporarily_unavailable");
    expect(await statusOf(grant.id)).toBe("pending");

    const again = await fx.grant();
    const second = await throughIdp(fx, again);
    const hostile = withParam(withParam(second.callbackPath, "code", null), "error", "<script>x</script>");
    const html = await (await fx.get(hostile, second.cookies)).text();
    expect(html).not.toContain("<script>x</script>");
    expect(html).toContain("unrecognised error");
  });

  const failures: Array<[Parameters<WebFixture["idp"]["setMode"]>[0], string]> = [
    ["bad_id_token_signature", "ID token did not verify"],
    ["wrong_nonce", "ID token did not verify"],
    ["wrong_aud", "ID token did not verify"],
    ["token_error", "refused"],
    ["expired_id_token", "ID token did not verify"],
    ["token_500", "unexpected response"],
    ["garbage_json", "unexpected response"],
  ];
  for (const [mode, text] of failures) {
    test(`IdP mode ${mode}: error page, nothing delivered, grant back to pending`, async () => {
      const grant = await fx.grant();
      const { cookies, callbackPath } = await throughIdp(fx, grant);
      fx.idp.setMode(mode);
      const response = await fx.get(callbackPath, cookies);
      expect(response.status).toBe(502);
      const html = await response.text();
      expect(html).toContain(text);
      expect(html).not.toContain("stub-real-");
      expect(await statusOf(grant.id)).toBe("pending");
      expect(await fx.store.take(grant.deviceKey, fx.now())).toBeUndefined();
    });
  }

  test("an unreachable IdP is named as such", async () => {
    const down = await webFixture();
    try {
      const grant = await down.grant();
      const { cookies, callbackPath } = await throughIdp(down, grant);
      await down.idp.close();
      const html = await (await down.get(callbackPath, cookies)).text();
      expect(html).toContain("could not be reached");
      expect(await down.store.getById(grant.id, down.now())).toMatchObject({ status: "pending" });
    } finally {
      await down.store.close();
    }
  });
});

/**
 * No secret in any output (issue 6 §2): the whole flow runs with canary secrets — agent grant,
 * consent and approve through the stub IdP, collection, refresh with rotation, proxied requests,
 * admin sign-in by password and by provider, every admin page, fragment and /metrics — and every
 * log line (all levels), every HTML page and the metrics text are scanned for each canary: tokens,
 * authorization codes, PKCE verifiers, state, device code, client secret, cookies, password, bearer.
 * Canaries we did not generate ourselves are captured by recording every fetch the process makes
 * (the browser's navigations and the broker's token requests both go through the global fetch).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentRequest } from "../../src/agent-port/http1/types.ts";
import { resolveProviders } from "../../src/broker/providers/registry.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { type AdminHarness, startAdminHarness } from "../helpers/admin-harness.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { testPki } from "../helpers/pki.ts";

const PASSWORD = "canary-admin-password-5f1c";
const CLIENT_SECRET = "canary-client-secret-9b2e";
const SECRET_PARAMS = ["code", "state", "code_verifier", "refresh_token", "client_secret", "device_code"];

let h: AdminHarness;
const realFetch = globalThis.fetch;
const canaries = new Map<string, string>();
const outputs: string[] = [];

function canary(label: string, value: string | undefined | null): void {
  if (value !== undefined && value !== null && value.length >= 8) canaries.set(value, label);
}

/** Records secret-looking parameters of every request's URL and form body as canaries. */
async function recordRequest(input: RequestInfo | URL, init?: RequestInit): Promise<void> {
  const request = new Request(input, init);
  const url = new URL(request.url);
  for (const name of SECRET_PARAMS) canary(`url ${name}`, url.searchParams.get(name));
  if (request.method === "POST" && request.body !== null) {
    const body = new URLSearchParams(await request.clone().text());
    for (const name of SECRET_PARAMS) canary(`body ${name}`, body.get(name));
  }
}

beforeAll(async () => {
  globalThis.fetch = Object.assign(
    async (input: RequestInfo | URL, init?: RequestInit) => {
      await recordRequest(input, init);
      const response = await realFetch(input, init);
      for (const line of response.headers.getSetCookie())
        canary("cookie", line.split(";")[0]?.split("=").slice(1).join("="));
      return response;
    },
    { preconnect: realFetch.preconnect },
  );
  h = await startAdminHarness({
    password: PASSWORD,
    idp: { clientSecret: CLIENT_SECRET, jwtAccessTokens: true },
    allow: ["alice@stub.example"],
  });
  canary("admin password", PASSWORD);
  canary("client secret", CLIENT_SECRET);
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  await h?.close();
});

function asAgent(body: Record<string, string>) {
  return h.agent("/v1/token", body);
}

async function proxied(client: AgentRequest["client"], wrapper: string, upstreamSeen: string[]) {
  // The upstream: records the injected header and answers, like a real API would.
  const upstream = async (input: RequestInfo | URL, init?: RequestInit) => {
    upstreamSeen.push(new Request(input, init).headers.get("authorization") ?? "");
    return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
  };
  const proxy = createProxyHandler({
    providers: await resolveProviders(h.config, { fetch: realFetch, now: Date.now }),
    policy: new PolicyGate(h.config.policy),
    revocations: new RevocationList(),
    keys: () => h.keys,
    issuer: h.issuer,
    now: Date.now,
    logger: h.logger,
    upstreamTimeout: 5,
    fetch: Object.assign(upstream, { preconnect: realFetch.preconnect }),
  });
  const send = (target: string) => {
    const headers = new Headers({ authorization: `Bearer ${wrapper}` });
    return proxy({
      method: "GET",
      target,
      rawHeaders: [...headers.entries()],
      headers,
      body: null,
      signal: new AbortController().signal,
      client,
    });
  };
  return send;
}

describe("canary secrets never reach logs, pages or metrics", () => {
  test("full flow, then every output is scanned", async () => {
    const client = describeCertificate((await testPki()).alpha.der);
    const created = await h.agent("/v1/grants", { provider: "stub", scope: "openid email offline_access" });
    const grant = (await created.json()) as { device_code: string; verification_uri_complete: string };
    canary("device_code", grant.device_code);

    const person = new Browser();
    const { done } = await approveConsent(person, grant.verification_uri_complete);
    expect(done.body).toContain("You can close this tab");

    const collected = await asAgent({
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: grant.device_code,
    });
    expect(collected.status).toBe(200);
    const tokens = (await collected.json()) as { access_token: string; refresh_token: string };
    canary("access wrapper", tokens.access_token);
    canary("refresh wrapper", tokens.refresh_token);
    canary("upstream access token", h.idp.lastIssued.accessToken);
    canary("upstream refresh token", h.idp.lastIssued.refreshToken);
    canary("id_token", h.idp.lastIssued.idToken);

    const refreshed = await asAgent({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    const fresh = (await refreshed.json()) as { access_token: string; refresh_token: string };
    canary("refreshed access wrapper", fresh.access_token);
    canary("refreshed refresh wrapper", fresh.refresh_token);
    canary("rotated upstream access token", h.idp.lastIssued.accessToken);
    canary("rotated upstream refresh token", h.idp.lastIssued.refreshToken);

    const upstreamSeen: string[] = [];
    const send = await proxied(client, fresh.access_token, upstreamSeen);
    expect((await send("/api.stub.example/v1/me?x=1")).status).toBe(200);
    expect((await send("/api.stub.example/v1/me")).status).toBe(200);
    expect((await send("/evil.example/steal")).status).toBe(403);
    expect(upstreamSeen).toEqual([
      `Bearer ${h.idp.lastIssued.accessToken}`,
      `Bearer ${h.idp.lastIssued.accessToken}`,
    ]);

    const admin = new Browser();
    const login = await admin.open(`${h.issuer}/admin/login`);
    const signedIn = await admin.submit("/admin/login", {
      ...Browser.hiddenFields(login),
      password: PASSWORD,
    });
    expect(signedIn.url.pathname).toBe("/admin");
    const viaIdp = new Browser();
    const idpLogin = await viaIdp.open(`${h.issuer}/admin/login/provider`);
    expect(idpLogin.url.pathname).toBe("/admin");
    expect(idpLogin.body).toContain("alice@stub.example");
    for (const path of [
      "/admin",
      "/admin/grants",
      "/admin/traffic",
      "/admin/fragments/overview",
      "/admin/fragments/grants",
      "/admin/fragments/traffic",
    ]) {
      const page = await admin.open(`${h.issuer}${path}`);
      expect(page.status).toBe(200);
    }
    await admin.open(`${h.issuer}/admin/login`);
    await admin.submit("/admin/login", { ...Browser.hiddenFields(login), password: `${PASSWORD}-wrong` });
    const metrics = await admin.open(`${h.issuer}/metrics`);
    expect(metrics.body).toContain('surrogate_verification_cache_total{result="hit"} 2');
    expect(metrics.body).toContain('surrogate_tokens_minted_total{provider="stub"} 1');

    outputs.push(...h.sink.lines);
    for (const browser of [person, admin, viaIdp]) for (const page of browser.pages) outputs.push(page.body);
    const labels = new Set(canaries.values());
    for (const expected of [
      "url state",
      "body code",
      "body code_verifier",
      "body refresh_token",
      "device_code",
      "cookie",
      "id_token",
      "admin password",
      "client secret",
    ]) {
      expect(labels.has(expected)).toBe(true);
    }
    const leaks: string[] = [];
    for (const [value, label] of canaries) {
      for (const output of outputs)
        if (output.includes(value)) leaks.push(`${label} in: ${output.slice(0, 120)}`);
    }
    expect(leaks).toEqual([]);
    expect(h.sink.lines.length).toBeGreaterThan(10);
    expect(h.sink.lines.some((line) => line.includes('"event":"token.refreshed"'))).toBe(true);
    expect(h.sink.lines.some((line) => line.includes('"reason":"admin_password"'))).toBe(true);
  });

  test("values from outside with control characters are escaped: one line each, the value intact", async () => {
    const before = h.sink.lines.length;
    h.logger.audit("grant.created", {
      workload: 'spiffe://x/a\n{"event":"forged"}\u001b[2J',
      outcome: "created",
    });
    const lines = h.sink.lines.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(lines[0]).not.toContain("\u001b");
    expect(JSON.parse(lines[0] ?? "{}").workload).toBe('spiffe://x/a\n{"event":"forged"}\u001b[2J');
  });
});

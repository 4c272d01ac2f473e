/**
 * Revocation across real processes sharing one Redis (issue #15): instances A and B (`all`) and P
 * (`--role proxy`). A login revoked through A's admin API is refused on B and on P within 2 s, a
 * wrapper already in B's verification cache included, and at the token endpoint; another login (of
 * another workload) keeps working; the login's current upstream refresh token is revoked at the
 * stub IdP with the client's credentials; the rule survives a restart of B. Instance C, with
 * `refresh_ttl = "3s"`, shows the absolute refresh bound over real time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import {
  agentFetch,
  agentForm,
  deploymentDir,
  instanceConfig,
  type SurrogateProcess,
  spawnSurrogate,
  startBalancer,
  writeDeployment,
} from "../helpers/process.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";
import { startTestRedis, type TestRedis } from "../unit/broker/rendezvous/redis-server.ts";

const API_TOKEN = "test-admin-api-token-0123456789abcdef";
let pki: TestPki;
let redis: TestRedis;
let idp: StubIdp;
let upstream: Upstream;
let balancer: ReturnType<typeof startBalancer>;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let a: SurrogateProcess;
let b: SurrogateProcess;
let p: SurrogateProcess;
let c: SurrogateProcess;
const env = () => ({ STUB_SECRET: idp.clientSecret, ADMIN_TOKEN: API_TOKEN });

beforeAll(async () => {
  [pki, redis, dir] = await Promise.all([testPki(), startTestRedis(), deploymentDir()]);
  balancer = startBalancer();
  idp = await startStubIdp({ redirectUris: [`${balancer.url}/callback`] });
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  const written = await writeDeployment(pki, dir);
  const config = instanceConfig({
    ...written,
    issuer: balancer.url,
    rendezvous: redis.url,
    idp: { issuer: idp.issuer, clientId: idp.clientId },
    upstreams: [`127.0.0.1:${upstream.port}`],
    extra: `[admin]\napi_token = "env:ADMIN_TOKEN"\n`,
  });
  await Bun.write(dir.path("surrogate.toml"), config);
  await Bun.write(
    dir.path("short.toml"),
    config.replace('token_ttl = "1h"', 'token_ttl = "1h"\nrefresh_ttl = "3s"'),
  );
  const configPath = dir.path("surrogate.toml");
  [a, b, p, c] = await Promise.all([
    spawnSurrogate({ name: "A", configPath, env: env() }),
    spawnSurrogate({ name: "B", configPath, env: env() }),
    spawnSurrogate({ name: "P", configPath, env: env(), role: "proxy" }),
    spawnSurrogate({ name: "C", configPath: dir.path("short.toml"), env: env() }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), p?.stop(), c?.stop()]);
  await Promise.all([redis?.stop(), idp?.close(), upstream?.stop(), balancer?.stop()]);
  await dir?.remove();
});

interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** A whole login: grant on `on`, the person approves through `on`'s web port, the agent collects. */
async function login(on: SurrogateProcess, cert: IssuedCertificate): Promise<Tokens> {
  const created = await agentForm(on.agentPort, "/v1/grants", { provider: "stub" }, cert, pki.ca.certPem);
  expect(created.status).toBe(200);
  const grant = (await created.json()) as { device_code: string; verification_uri_complete: string };
  balancer.route(on.webPort);
  const browser = new Browser();
  const { done } = await approveConsent(browser, grant.verification_uri_complete);
  expect(done.body).toContain("You can close this tab");
  const form = { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: grant.device_code };
  const collected = await agentForm(on.agentPort, "/v1/token", form, cert, pki.ca.certPem);
  expect(collected.status).toBe(200);
  return (await collected.json()) as Tokens;
}

async function proxied(via: SurrogateProcess, wrapper: string, cert: IssuedCertificate) {
  const response = await agentFetch(
    via.agentPort,
    `/127.0.0.1:${upstream.port}/hello`,
    cert,
    pki.ca.certPem,
    {
      headers: { authorization: `Bearer ${wrapper}` },
    },
  );
  const text = await response.text();
  return {
    status: response.status,
    body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

function refresh(on: SurrogateProcess, refreshToken: string, cert: IssuedCertificate) {
  const form = { grant_type: "refresh_token", refresh_token: refreshToken };
  return agentForm(on.agentPort, "/v1/token", form, cert, pki.ca.certPem);
}

function api(
  on: SurrogateProcess,
  init: { method?: string; token?: string | null; body?: string; type?: string },
) {
  const headers: Record<string, string> = { "content-type": init.type ?? "application/json" };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? API_TOKEN}`;
  return fetch(`http://127.0.0.1:${on.webPort}/admin/api/revocations`, {
    method: init.method ?? "POST",
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

/** Polls `check` every 100 ms, at most 20 times (2 s): the propagation bound the issue sets. */
async function within2s(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    if (await check()) return true;
    await Bun.sleep(100);
  }
  return check();
}

describe("revocation across instances (Redis)", () => {
  let revoked: Tokens;
  let kept: Tokens;

  test("a login revoked on A is refused on B (cached wrapper), on P and at refresh; another login works; the IdP revokes its refresh token", async () => {
    revoked = await login(a, pki.alpha);
    kept = await login(a, pki.beta);
    // One refresh first: the IdP rotates, and upstream revocation must hit the current token.
    const refreshed = await refresh(a, revoked.refresh_token, pki.alpha);
    expect(refreshed.status).toBe(200);
    revoked = (await refreshed.json()) as Tokens;
    const current = idp.lastIssued.refreshToken;
    for (const via of [b, p]) expect((await proxied(via, revoked.access_token, pki.alpha)).status).toBe(200);

    const sid = String(decodeJwt(revoked.access_token).sid);
    const created = await api(a, { body: JSON.stringify({ login: sid }) });
    expect(created.status).toBe(201);
    const rule = (await created.json()) as Record<string, unknown>;
    expect(rule).toMatchObject({ login: sid, by: "api", upstream: { outcome: "revoked" } });

    for (const via of [b, p]) {
      expect(
        await within2s(async () => (await proxied(via, revoked.access_token, pki.alpha)).status === 401),
      ).toBe(true);
      const refused = await proxied(via, revoked.access_token, pki.alpha);
      expect(refused.body).toMatchObject({ code: "invalid_token", detail: "revoked" });
      expect((await proxied(via, kept.access_token, pki.beta)).status).toBe(200);
    }
    const again = await refresh(b, revoked.refresh_token, pki.alpha);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe("invalid_grant");
    expect((await refresh(b, kept.refresh_token, pki.beta)).status).toBe(200);

    expect(idp.revocations.at(-1)).toMatchObject({
      token: current,
      clientAuth: "basic",
      hint: "refresh_token",
    });
    await a.waitForLine("upstream.revoked");
    const audit = a.lines.find((line) => line.includes('"revocation.created"')) ?? "";
    expect(JSON.parse(audit)).toMatchObject({ by: "api", scope: "login", login: sid });
    for (const line of [...a.lines, ...b.lines]) expect(line).not.toContain(current ?? "never");
  }, 60_000);

  test("the rule survives a restart of B (kept in Redis)", async () => {
    await b.stop();
    b = await spawnSurrogate({ name: "B2", configPath: dir.path("surrogate.toml"), env: env() });
    expect((await proxied(b, revoked.access_token, pki.alpha)).status).toBe(401);
    expect((await proxied(b, kept.access_token, pki.beta)).status).toBe(200);
  }, 30_000);

  test("the API: 401 without or with a wrong token, 400 for a malformed body, GET lists the rules", async () => {
    for (const [token, code] of [
      [null, "missing_token"],
      ["wrong-token", "invalid_token"],
    ] as const) {
      const response = await api(a, { token, body: '{"provider":"stub"}' });
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(((await response.json()) as { code: string }).code).toBe(code);
    }
    for (const [body, type] of [
      ["{not json", undefined],
      ['{"login":"a","provider":"stub"}', undefined],
      ['{"provider":"unknown"}', undefined],
      ['{"sub":"alice"}', undefined],
      ['{"provider":"stub"}', "text/plain"],
    ] as const) {
      const response = await api(a, { body, ...(type === undefined ? {} : { type }) });
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(((await response.json()) as { code: string }).code).toBe("invalid_request");
    }
    const listed = await api(b, { method: "GET" });
    expect(listed.status).toBe(200);
    const { revocations } = (await listed.json()) as { revocations: Array<Record<string, unknown>> };
    expect(revocations.some((rule) => typeof rule.login === "string")).toBe(true);
  }, 30_000);
});

describe("absolute refresh lifetime over real time (refresh_ttl = 3s)", () => {
  test("refreshes succeed until auth_time + 3 s, then invalid_grant however many happened", async () => {
    let tokens = await login(c, pki.alpha);
    const authTime = Number(decodeJwt(tokens.access_token).auth_time);
    let refreshes = 0;
    while (Date.now() / 1000 < authTime + 2) {
      const response = await refresh(c, tokens.refresh_token, pki.alpha);
      expect(response.status).toBe(200);
      tokens = (await response.json()) as Tokens;
      expect(decodeJwt(tokens.refresh_token).exp).toBe(authTime + 3);
      refreshes += 1;
      await Bun.sleep(200);
    }
    expect(refreshes).toBeGreaterThan(1);
    while (Date.now() / 1000 < authTime + 3) await Bun.sleep(100);
    const refused = await refresh(c, tokens.refresh_token, pki.alpha);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe("invalid_grant");
  }, 30_000);
});

/**
 * The whole product over real sockets, as deployed: `startSurrogate` from a configuration file, the
 * agent speaking mTLS to the agent port, a person approving in a cookie-jar browser through the stub
 * IdP, the agent collecting its wrapper, then calling an HTTPS upstream through the proxy and
 * refreshing. Once with a JWT access token (claims copied), once with an opaque one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { decodeJwt } from "jose";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { agentForm, agentFetch as mtlsFetch, writeConfigDir } from "../helpers/process.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

let dir: string;
let pki: TestPki;
let upstream: Upstream;
let idps: { opaque: StubIdp; jwt: StubIdp };
let running: RunningSurrogate;
let issuer: string;
const logger = createMemoryLogger();

function providerToml(name: string, idp: StubIdp, extra: string): string {
  return `[providers.${name}]
kind = "oidc"
issuer = "${idp.issuer}"
client_id = "${idp.clientId}"
client_secret = "env:${name.toUpperCase()}_SECRET"
scopes = ["openid", "email", "offline_access"]
upstreams = ["127.0.0.1:${upstream.port}"]
${extra}
`;
}

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "flow");
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  idps = { opaque: await startStubIdp(), jwt: await startStubIdp({ jwtAccessTokens: true }) };
  const webPort = await freePort();
  issuer = `http://127.0.0.1:${webPort}`;
  const toml = `issuer = "${issuer}"
[web]
listen = "127.0.0.1:${webPort}"
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
upstream_ca = "ca.pem"
[rendezvous]
interval = "1s"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
${providerToml("opaque", idps.opaque, "")}
${providerToml("jwt", idps.jwt, "jwt_access_tokens = true")}
[[policy]]
workload = "spiffe://test.example/agents/alpha"
providers = ["opaque", "jwt"]
`;
  const env = { OPAQUE_SECRET: idps.opaque.clientSecret, JWT_SECRET: idps.jwt.clientSecret };
  const config = await parseConfig(toml, env, { baseDir: dir });
  running = await startSurrogate(config, { env, logger });
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([idps?.opaque.close(), idps?.jwt.close(), upstream?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** The agent: every call over mTLS with its SPIFFE certificate, trusting the test CA for the broker. */
function agentFetch(path: string, init: RequestInit = {}, who: "alpha" | "beta" = "alpha") {
  return mtlsFetch(running.agentPort, path, pki[who], pki.ca.certPem, init);
}

function postForm(path: string, form: Record<string, string>, who: "alpha" | "beta" = "alpha") {
  return agentForm(running.agentPort, path, form, pki[who], pki.ca.certPem);
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** RFC 8628 from the agent's side, with the person approving in a browser in between. */
async function login(provider: string): Promise<TokenBody> {
  const created = await postForm("/v1/grants", { provider });
  expect(created.status).toBe(200);
  const grant = (await created.json()) as { device_code: string; verification_uri_complete: string };
  const pending = await postForm("/v1/token", { grant_type: DEVICE_GRANT, device_code: grant.device_code });
  expect(((await pending.json()) as { error: string }).error).toBe("authorization_pending");

  const browser = new Browser();
  const { consent, done } = await approveConsent(browser, grant.verification_uri_complete);
  expect(consent.body.replaceAll("<wbr>", "")).toContain("spiffe://test.example/agents/alpha");
  expect(done.status).toBe(200);

  // Another workload holding the device code cannot collect it.
  const stolen = await postForm(
    "/v1/token",
    { grant_type: DEVICE_GRANT, device_code: grant.device_code },
    "beta",
  );
  expect(((await stolen.json()) as { error: string }).error).toBe("invalid_grant");

  // RFC 8628 §3.5: a poll sooner than `interval` after the last one would get slow_down.
  await Bun.sleep(1100);
  const collected = await postForm("/v1/token", { grant_type: DEVICE_GRANT, device_code: grant.device_code });
  expect(collected.status).toBe(200);
  const body = (await collected.json()) as TokenBody;
  for (const page of browser.pages) expect(page.body).not.toContain(body.access_token);
  return body;
}

async function callThroughProxy(wrapper: string, who: "alpha" | "beta" = "alpha") {
  const before = upstream.requests.length;
  const response = await agentFetch(
    `/127.0.0.1:${upstream.port}/repos?page=2`,
    { headers: { authorization: `Bearer ${wrapper}` } },
    who,
  );
  return { response, text: await response.text(), received: upstream.requests.slice(before) };
}

function allOutput(): string {
  return logger.lines.join("\n");
}

describe.each(["opaque", "jwt"] as const)("full flow with %s access tokens", (kind) => {
  test("login, proxied call with the real token, refresh with rotation, and nothing leaks", async () => {
    const idp = idps[kind];
    const tokens = await login(kind);
    const realAccess = idp.lastIssued.accessToken ?? "";
    const realRefresh = idp.lastIssued.refreshToken ?? "";
    expect(realAccess).not.toBe("");
    expect(realRefresh).not.toBe("");
    expect(JSON.stringify(tokens)).not.toContain(realAccess);
    expect(JSON.stringify(tokens)).not.toContain(realRefresh);
    expect(tokens.token_type).toBe("Bearer");

    const claims = decodeJwt(tokens.access_token);
    expect(claims.prv).toBe(kind);
    expect(claims.iss).toBe(issuer);
    if (kind === "jwt") expect(claims.sub).toBe(decodeJwt(realAccess).sub);
    else expect(claims.sub).toBe(idp.subject);

    const call = await callThroughProxy(tokens.access_token);
    expect(call.response.status).toBe(200);
    expect(call.received).toHaveLength(1);
    expect(call.received[0]?.headers.get("authorization")).toBe(`Bearer ${realAccess}`);
    expect(call.received[0]?.path).toBe("/repos?page=2");
    expect(JSON.stringify([...call.received[0]!.headers])).not.toContain(tokens.access_token);

    const wrongHolder = await callThroughProxy(tokens.access_token, "beta");
    expect(wrongHolder.response.status).toBe(401);
    expect(JSON.parse(wrongHolder.text).code).toBe("binding_mismatch");
    expect(wrongHolder.received).toHaveLength(0);

    const refreshed = await postForm("/v1/token", {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as TokenBody;
    const rotatedAccess = idp.lastIssued.accessToken ?? "";
    expect(rotatedAccess).not.toBe(realAccess);
    expect(idp.lastIssued.refreshToken).not.toBe(realRefresh);
    const after = await callThroughProxy(next.access_token);
    expect(after.received[0]?.headers.get("authorization")).toBe(`Bearer ${rotatedAccess}`);

    expect(allOutput()).toContain('"event":"proxy.request"');
    expect(allOutput()).toContain('"event":"token.refreshed"');
    for (const secret of [realAccess, realRefresh, rotatedAccess, idp.clientSecret]) {
      expect(allOutput()).not.toContain(secret);
    }
    expect(allOutput()).not.toContain(tokens.access_token);
  });
});

describe("refusals on the assembled product", () => {
  test("a refresh wrapper is no access wrapper, and an access wrapper cannot refresh", async () => {
    const tokens = await login("opaque");
    const asAccess = await callThroughProxy(tokens.refresh_token ?? "");
    expect(asAccess.response.status).toBe(401);
    expect(JSON.parse(asAccess.text).code).toBe("invalid_token");
    expect(asAccess.received).toHaveLength(0);
    const asRefresh = await postForm("/v1/token", {
      grant_type: "refresh_token",
      refresh_token: tokens.access_token,
    });
    expect(asRefresh.status).toBe(400);
    expect(((await asRefresh.json()) as { error: string }).error).toBe("invalid_grant");
  });

  test("the JWKS publishes public signing keys only", async () => {
    const jwks = (await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as { keys: object[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect("d" in key).toBe(false);
  });

  test("an unknown provider and a workload without policy are refused at grant creation", async () => {
    const unknown = await postForm("/v1/grants", { provider: "nope" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe("invalid_request");
    const denied = await postForm("/v1/grants", { provider: "opaque" }, "beta");
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: string }).error).toBe("access_denied");
  });
});

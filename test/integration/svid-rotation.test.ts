/**
 * SVID rotation end to end (issue #14), as SPIRE deploys it: `startSurrogate` from a configuration
 * with `[agent.trust_domains]` (the SPIRE CA as a SPIFFE JSON bundle), an agent whose X509-SVID is
 * replaced by a new one with a new key pair, twice. The person approves once, in a browser through
 * the stub IdP; after that the agent follows each rotation with `surrogate refresh` (a real
 * process) presenting its new SVID, and keeps calling the upstream through the proxy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate as X509 } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { agentForm, agentFetch as mtlsFetch, writeConfigDir } from "../helpers/process.ts";
import { type SpireDomain, spireDomain } from "../helpers/spire.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

const REPO = join(import.meta.dir, "../..");
const AGENT_ID = "spiffe://td.test/agents/coder";
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

let dir: string;
let pki: TestPki;
let spire: SpireDomain;
let upstream: Upstream;
let idp: StubIdp;
let running: RunningSurrogate;
const logger = createMemoryLogger();

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "rotation");
  spire = await spireDomain("td.test");
  const bundle = {
    keys: [{ use: "x509-svid", kty: "EC", x5c: [Buffer.from(spire.ca.der).toString("base64")] }],
  };
  await writeFile(join(dir, "td.test.json"), JSON.stringify(bundle));
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  idp = await startStubIdp();
  const webPort = await freePort();
  const toml = `issuer = "http://127.0.0.1:${webPort}"
token_ttl = "1h"
[web]
listen = "127.0.0.1:${webPort}"
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
upstream_ca = "ca.pem"
[agent.trust_domains]
"td.test" = "file:td.test.json"
[rendezvous]
interval = "1s"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
[providers.corp]
kind = "oidc"
issuer = "${idp.issuer}"
client_id = "${idp.clientId}"
client_secret = "env:CORP_SECRET"
scopes = ["openid", "email", "offline_access"]
upstreams = ["127.0.0.1:${upstream.port}"]
[[policy]]
workload = "spiffe://td.test/agents/*"
providers = ["corp"]
[[policy]]
workload = "spiffe://td.test/hw/*"
providers = ["corp"]
binding = "key"
refresh_binding = "certificate"
`;
  const env = { CORP_SECRET: idp.clientSecret };
  running = await startSurrogate(await parseConfig(toml, env, { baseDir: dir }), { env, logger });
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([idp?.close(), upstream?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function agentFetch(svid: IssuedCertificate, path: string, init: RequestInit = {}) {
  return mtlsFetch(running.agentPort, path, svid, pki.ca.certPem, init);
}

function postForm(svid: IssuedCertificate, path: string, form: Record<string, string>) {
  return agentForm(running.agentPort, path, form, svid, pki.ca.certPem);
}

/** The one time a person is involved: RFC 8628 from the agent, approval in a browser. */
async function login(svid: IssuedCertificate, id = AGENT_ID): Promise<TokenBody> {
  const grant = (await (await postForm(svid, "/v1/grants", { provider: "corp" })).json()) as {
    device_code: string;
    verification_uri_complete: string;
  };
  const browser = new Browser();
  const { consent, done } = await approveConsent(browser, grant.verification_uri_complete);
  expect(consent.body.replaceAll("<wbr>", "")).toContain(id);
  expect(done.status).toBe(200);
  await Bun.sleep(1100);
  const collected = await postForm(svid, "/v1/token", {
    grant_type: DEVICE_GRANT,
    device_code: grant.device_code,
  });
  expect(collected.status).toBe(200);
  return (await collected.json()) as TokenBody;
}

/** A proxied call: the status, the problem code if any, and the Authorization the upstream got. */
async function call(svid: IssuedCertificate, wrapper: string) {
  const before = upstream.requests.length;
  const response = await agentFetch(svid, `/127.0.0.1:${upstream.port}/v1/files`, {
    headers: { authorization: `Bearer ${wrapper}` },
  });
  const text = await response.text();
  const received = upstream.requests.slice(before);
  return {
    status: response.status,
    code: response.status === 200 ? undefined : (JSON.parse(text) as { code: string }).code,
    upstreamSaw: received.map((request) => request.headers.get("authorization")),
  };
}

/** What an agent runs after each rotation: `surrogate refresh` with its new SVID (a real process). */
async function refreshWith(svid: IssuedCertificate, held: TokenBody, name: string) {
  const files = {
    cert: join(dir, `${name}.pem`),
    key: join(dir, `${name}.key`),
    in: join(dir, `${name}-in.json`),
    ca: join(dir, "ca.pem"),
  };
  await writeFile(files.cert, svid.certPem);
  await writeFile(files.key, svid.keyPem, { mode: 0o600 });
  await writeFile(files.in, JSON.stringify(held));
  const child = Bun.spawn(["bun", "src/main.ts", "refresh", "--in", files.in, "--json"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      SURROGATE_BROKER: `https://127.0.0.1:${running.agentPort}`,
      SURROGATE_CERT: files.cert,
      SURROGATE_KEY: files.key,
      SURROGATE_CA: files.ca,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stderr, body: code === 0 ? (JSON.parse(stdout) as TokenBody) : undefined };
}

function cnf(token: string): unknown {
  return decodeJwt(token).cnf;
}

const bearer = (token: string | undefined) => `Bearer ${token}`;

describe("SVID rotation: two rotations in a row, no person after the first login", () => {
  test("each new SVID refreshes into wrappers bound to it; old wrappers and other IDs are refused", async () => {
    // Login with SVID A (one hour, as SPIRE issues them).
    const a = await spire.svid("/agents/coder");
    const first = await login(a);
    expect(cnf(first.access_token)).toEqual({ "x5t#S256": thumbprintOf(a.der) });
    expect(cnf(first.refresh_token ?? "")).toEqual({ spiffe_id: AGENT_ID });
    expect(await call(a, first.access_token)).toMatchObject({
      status: 200,
      upstreamSaw: [bearer(idp.lastIssued.accessToken)],
    });

    // Rotation 1: SVID B, same ID, new key. The old access wrapper is bound to A.
    const b = await spire.svid("/agents/coder");
    expect(await call(b, first.access_token)).toEqual({
      status: 401,
      code: "binding_mismatch",
      upstreamSaw: [],
    });
    const second = await refreshWith(b, first, "b");
    expect(second.code).toBe(0);
    const afterFirst = second.body as TokenBody;
    expect(cnf(afterFirst.access_token)).toEqual({ "x5t#S256": thumbprintOf(b.der) });
    expect(cnf(afterFirst.refresh_token ?? "")).toEqual({ spiffe_id: AGENT_ID });
    expect(await call(b, afterFirst.access_token)).toMatchObject({
      status: 200,
      upstreamSaw: [bearer(idp.lastIssued.accessToken)],
    });
    expect(await call(a, afterFirst.access_token)).toMatchObject({ status: 401, code: "binding_mismatch" });

    // An SVID of another ID in the same trust domain cannot use the refresh wrapper.
    const other = await spire.svid("/agents/other");
    const stolen = await postForm(other, "/v1/token", {
      grant_type: "refresh_token",
      refresh_token: afterFirst.refresh_token ?? "",
    });
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: string }).error).toBe("invalid_grant");

    // Rotation 2: a short-lived SVID C. The new access wrapper ends with it (exp ≤ notAfter).
    const c = await spire.svid("/agents/coder", { lifetimeMs: 90_000 });
    const third = await refreshWith(c, afterFirst, "c");
    expect(third.code).toBe(0);
    const afterSecond = third.body as TokenBody;
    const claims = decodeJwt(afterSecond.access_token);
    expect(claims.cnf).toEqual({ "x5t#S256": thumbprintOf(c.der) });
    const notAfter = Math.floor(new Date(new X509(c.der).validTo).getTime() / 1000);
    expect(claims.exp).toBeLessThanOrEqual(notAfter);
    expect(claims.exp_bound).toBe("certificate");
    expect(await call(c, afterSecond.access_token)).toMatchObject({
      status: 200,
      upstreamSaw: [bearer(idp.lastIssued.accessToken)],
    });
    expect(await call(c, afterFirst.access_token)).toMatchObject({ status: 401, code: "binding_mismatch" });

    // The person logged in exactly once.
    expect(idp.requests.filter((request) => request.path === "/authorize")).toHaveLength(1);
    expect(
      logger.lines.filter(
        (line) => line.includes('"event":"token.refreshed"') && line.includes('"outcome":"refreshed"'),
      ),
    ).toHaveLength(2);
  });
});

describe('[[policy]] binding = "key", refresh_binding = "certificate"', () => {
  test("a renewal for the same key keeps the access wrapper; a new key does not; refresh stays with the certificate", async () => {
    const id = "spiffe://td.test/hw/tpm-agent";
    const k1 = await spire.svid("/hw/tpm-agent");
    const tokens = await login(k1, id);
    const jkt = decodeJwt(tokens.access_token).cnf as Record<string, string>;
    expect(Object.keys(jkt)).toEqual(["jkt"]);
    expect(cnf(tokens.refresh_token ?? "")).toEqual({ "x5t#S256": thumbprintOf(k1.der) });
    // Key-bound wrappers are not capped by the certificate: the renewal must find them alive.
    expect(decodeJwt(tokens.access_token).exp_bound).not.toBe("certificate");

    const renewed = await spire.svid("/hw/tpm-agent", { keyPem: k1.keyPem });
    expect(await call(renewed, tokens.access_token)).toMatchObject({ status: 200 });
    const rekeyed = await spire.svid("/hw/tpm-agent");
    expect(await call(rekeyed, tokens.access_token)).toEqual({
      status: 401,
      code: "binding_mismatch",
      upstreamSaw: [],
    });

    const refresh = { grant_type: "refresh_token", refresh_token: tokens.refresh_token ?? "" };
    const pinned = await postForm(renewed, "/v1/token", refresh);
    expect(pinned.status).toBe(400);
    expect(((await pinned.json()) as { error: string }).error).toBe("invalid_grant");
    expect((await postForm(k1, "/v1/token", refresh)).status).toBe(200);
  });
});

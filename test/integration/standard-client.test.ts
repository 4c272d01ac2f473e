/**
 * Issue #21: a standard device-flow client needs nothing surrogate-specific. `openid-client`
 * (panva; maintained, standards-conformant) is configured as any device-flow client is: the agent
 * port's URL (RFC 8414 discovery), a provider name as `client_id`, `none` client authentication,
 * and the agent's certificate on every request. It logs in while a person approves through the
 * stub IdP, refreshes, and calls through the proxy; the refusals come back as the library's
 * RFC 6749 §5.2 errors. The README's snippet runs here too, as written, in a separate process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import * as client from "openid-client";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { writeConfigDir } from "../helpers/process.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const REPO = join(import.meta.dir, "..", "..");

let dir: string;
let pki: TestPki;
let upstream: Upstream;
let idp: StubIdp;
let running: RunningSurrogate;
/** The agent port as agents reach it: the default `[agent] public_url` (no key set below). */
let agentUrl: string;
const logger = createMemoryLogger();

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "standard-client");
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  idp = await startStubIdp();
  const [webPort, agentPort] = [await freePort(), await freePort()];
  agentUrl = `https://127.0.0.1:${agentPort}`;
  // Two OAuth providers, so a client_id naming the other one is a real, configured provider.
  const provider = (name: string) => `[providers.${name}]
kind = "oidc"
issuer = "${idp.issuer}"
client_id = "${idp.clientId}"
client_secret = "env:IDP_SECRET"
scopes = ["openid", "email", "offline_access"]
upstreams = ["127.0.0.1:${upstream.port}"]
`;
  const toml = `issuer = "http://127.0.0.1:${webPort}"
[web]
listen = "127.0.0.1:${webPort}"
[agent]
listen = "127.0.0.1:${agentPort}"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
upstream_ca = "ca.pem"
[rendezvous]
interval = "1s"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
${provider("github")}
${provider("corp")}
[[policy]]
workload = "spiffe://test.example/agents/alpha"
providers = ["github", "corp"]
`;
  const env = { IDP_SECRET: idp.clientSecret };
  const config = await parseConfig(toml, env, { baseDir: dir });
  running = await startSurrogate(config, { env, logger });
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([idp?.close(), upstream?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Exchange {
  url: string;
  status: number;
  cacheControl: string | null;
  error?: string;
}

/**
 * Bun's fetch with the agent's client certificate, as the library's customFetch; it records what
 * the token endpoint answered, so the test can see the library really polled through pending.
 */
function mtlsFetch(seen: Exchange[] = []): client.CustomFetch {
  const tls = { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem };
  return async (url, options) => {
    // Bun's own RequestInit has `tls`; the cast also bridges the two libraries' body types.
    const response = await fetch(url, { ...options, tls } as RequestInit);
    const body = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { error?: string };
    const cacheControl = response.headers.get("cache-control");
    seen.push({ url, status: response.status, cacheControl, ...(body.error && { error: body.error }) });
    return response;
  };
}

function discover(clientId: string, seen: Exchange[] = []): Promise<client.Configuration> {
  return client.discovery(new URL(agentUrl), clientId, undefined, client.None(), {
    algorithm: "oauth2",
    [client.customFetch]: mtlsFetch(seen),
  });
}

/** The person: opens the verification URL, approves, and signs in at the stub IdP. */
async function approve(verificationUriComplete: string): Promise<void> {
  const browser = new Browser();
  const { consent, done } = await approveConsent(browser, verificationUriComplete);
  expect(consent.body.replaceAll("<wbr>", "")).toContain("spiffe://test.example/agents/alpha");
  expect(done.status).toBe(200);
}

/** Resolves once `seen` holds an entry matching `predicate` (the library's own pace decides when). */
async function until(seen: Exchange[], predicate: (exchange: Exchange) => boolean): Promise<void> {
  while (!seen.some(predicate)) await Bun.sleep(20);
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; error: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof client.ResponseBodyError)) throw new Error(`expected a refusal, got ${error}`);
  return { status: error.status, error: error.error };
}

describe("openid-client against the agent port", () => {
  test("discovers the metadata, logs in through pending, refreshes, and calls through the proxy", async () => {
    const seen: Exchange[] = [];
    const config = await discover("github", seen);
    expect(config.serverMetadata()).toMatchObject({
      issuer: agentUrl,
      device_authorization_endpoint: `${agentUrl}/v1/grants`,
      token_endpoint: `${agentUrl}/v1/token`,
    });
    expect(config.clientMetadata().client_id).toBe("github");

    const grant = await client.initiateDeviceAuthorization(config, { scope: "repo" });
    const polling = client.pollDeviceAuthorizationGrant(config, grant);
    await until(seen, (exchange) => exchange.error === "authorization_pending");
    await approve(grant.verification_uri_complete ?? "");
    const tokens = await polling;
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.scope).toContain("repo");
    const realAccess = idp.lastIssued.accessToken ?? "";
    expect(JSON.stringify(tokens)).not.toContain(realAccess);

    const fresh = await client.refreshTokenGrant(config, tokens.refresh_token ?? "");
    const rotatedAccess = idp.lastIssued.accessToken ?? "";
    expect(rotatedAccess).not.toBe(realAccess);
    expect(JSON.stringify(fresh)).not.toContain(rotatedAccess);

    const before = upstream.requests.length;
    const target = new URL(`/127.0.0.1:${upstream.port}/user?page=2`, agentUrl);
    const response = await client.fetchProtectedResource(config, fresh.access_token, target, "GET");
    expect(response.status).toBe(200);
    const received = upstream.requests.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]?.path).toBe("/user?page=2");
    expect(received[0]?.headers.get("authorization")).toBe(`Bearer ${rotatedAccess}`);
    // Every answer of the agent API, tokens and errors alike, told caches to keep nothing (RFC 6749 §5.1).
    const api = seen.filter((exchange) => !exchange.url.startsWith(`${agentUrl}/127.0.0.1`));
    expect(api.map((exchange) => exchange.url)).toContain(`${agentUrl}/v1/token`);
    expect(api.every((exchange) => exchange.cacheControl === "no-store")).toBe(true);
  });

  test("the metadata is served over mTLS only, like the rest of the agent port", async () => {
    const url = `${agentUrl}/.well-known/oauth-authorization-server`;
    const withCert = await fetch(url, {
      tls: { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem },
    });
    expect(withCert.status).toBe(200);
    expect(withCert.headers.get("cache-control")).toBe("no-store");
    const withoutCert = await fetch(url, { tls: { ca: pki.ca.certPem } }).then(
      () => "answered",
      () => "refused",
    );
    expect(withoutCert).toBe("refused");
  });

  test("an unknown client_id: 401 invalid_client, audited as such", async () => {
    const config = await discover("nope");
    expect(await refusal(client.initiateDeviceAuthorization(config, { scope: "repo" }))).toEqual({
      status: 401,
      error: "invalid_client",
    });
    expect(logger.lines.some((line) => line.includes('"outcome":"invalid_client"'))).toBe(true);
  });

  test("a device code or refresh wrapper presented under another provider's client_id: invalid_grant", async () => {
    const config = await discover("github");
    const other = await discover("corp");
    const grant = await client.initiateDeviceAuthorization(config, {});
    expect(await refusal(client.pollDeviceAuthorizationGrant(other, grant))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    // Nothing was consumed: the rightful client still collects the grant.
    const polling = client.pollDeviceAuthorizationGrant(config, grant);
    await approve(grant.verification_uri_complete ?? "");
    const tokens = await polling;
    const refreshesBefore = idp.requests.filter((r) => r.params.grant_type === "refresh_token").length;
    expect(await refusal(client.refreshTokenGrant(other, tokens.refresh_token ?? ""))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    const refreshesAfter = idp.requests.filter((r) => r.params.grant_type === "refresh_token").length;
    expect(refreshesAfter).toBe(refreshesBefore);
  });
});

describe("the README's device-flow snippet", () => {
  test("runs as written in its own process: login, refresh, proxied call", async () => {
    const readme = await Bun.file(join(REPO, "README.md")).text();
    const snippet = /```ts[^\n]*\n(import \* as client from "openid-client";\n[\s\S]*?)```/.exec(readme)?.[1];
    if (snippet === undefined) throw new Error("README: the openid-client snippet is missing");
    // Only the deployment's addresses differ from the README; the provider is named "github" here.
    const program = snippet
      .replaceAll("https://broker.example.com:8443", agentUrl)
      .replaceAll("api.github.com", `127.0.0.1:${upstream.port}`);
    const agentDir = join(dir, "agent");
    await Bun.write(join(agentDir, "snippet.ts"), program);
    await Bun.write(join(agentDir, "agent.pem"), pki.alpha.certPem);
    await Bun.write(join(agentDir, "agent.key"), pki.alpha.keyPem);
    await Bun.write(join(agentDir, "ca.pem"), pki.ca.certPem);
    await symlink(join(REPO, "node_modules"), join(agentDir, "node_modules"));

    const agent = Bun.spawn([process.execPath, "snippet.ts"], {
      cwd: agentDir,
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = agent.stdout.getReader();
      let output = "";
      while (!/approve at (\S+)\n/.test(output)) {
        const next = await reader.read();
        if (next.done) throw new Error(`snippet ended early: ${await new Response(agent.stderr).text()}`);
        output += new TextDecoder().decode(next.value);
      }
      await approve(/approve at (\S+)\n/.exec(output)?.[1] ?? "");
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        output += new TextDecoder().decode(next.value);
      }
      expect(await agent.exited).toBe(0);
      const realAccess = idp.lastIssued.accessToken ?? "";
      expect(output).toContain(`200 `);
      expect(upstream.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${realAccess}`);
    } finally {
      agent.kill();
    }
  });
});

/**
 * Two real `surrogate serve` processes with the same keys and one Redis (DESIGN §10: any instance
 * serves any step): a grant created on A is approved and called back on B behind a shared public
 * URL, collected on A, and the wrapper is proxied through B. A killed between creation and callback
 * does not lose the grant. Redis down: the agent API answers 503 temporarily_unavailable and comes
 * back by itself when Redis returns, while proxying (which needs no rendezvous) keeps working.
 *
 * This file starts its own redis-server (not SURROGATE_TEST_REDIS) because it stops and restarts it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
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

let pki: TestPki;
let redis: TestRedis;
let idp: StubIdp;
let upstream: Upstream;
let balancer: ReturnType<typeof startBalancer>;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let a: SurrogateProcess;
let b: SurrogateProcess;
/** Where provider `down` sends its token requests: nothing listens there until the test says so. */
let tokenPort: number;

beforeAll(async () => {
  [pki, redis, dir] = await Promise.all([testPki(), startTestRedis(), deploymentDir()]);
  balancer = startBalancer();
  idp = await startStubIdp({ redirectUris: [`${balancer.url}/callback`] });
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  const written = await writeDeployment(pki, dir);
  tokenPort = freePort();
  const config = instanceConfig({
    ...written,
    issuer: balancer.url,
    rendezvous: redis.url,
    idp: { issuer: idp.issuer, clientId: idp.clientId },
    upstreams: [`127.0.0.1:${upstream.port}`],
    extra: downProvider(idp, tokenPort, upstream.port),
  });
  await Bun.write(dir.path("surrogate.toml"), config);
  const env = { STUB_SECRET: idp.clientSecret };
  const configPath = dir.path("surrogate.toml");
  [a, b] = await Promise.all([
    spawnSurrogate({ name: "A", configPath, env }),
    spawnSurrogate({ name: "B", configPath, env }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([redis?.stop(), idp?.close(), upstream?.stop(), balancer?.stop()]);
  await dir?.remove();
});

/** The stub IdP, except that its token endpoint is `port` on loopback (down until something listens). */
function downProvider(stub: StubIdp, port: number, upstreamPort: number): string {
  return `[providers.down]
kind = "oidc"
issuer = "${stub.issuer}"
client_id = "${stub.clientId}"
client_secret = "env:STUB_SECRET"
scopes = ["openid", "email"]
token_endpoint = "http://127.0.0.1:${port}/token"
upstreams = ["127.0.0.1:${upstreamPort}"]
[[policy]]
workload = "spiffe://test.example/**"
providers = ["down"]
`;
}

interface Grant {
  device_code: string;
  user_code: string;
  verification_uri_complete: string;
}

async function createGrant(on: SurrogateProcess, provider = "stub"): Promise<Grant> {
  const response = await agentForm(on.agentPort, "/v1/grants", { provider }, pki.alpha, pki.ca.certPem);
  expect(response.status).toBe(200);
  return (await response.json()) as Grant;
}

/** The person approves in a browser whose requests the balancer sends to `via`; returns the callback page. */
async function approve(grant: Grant, via: SurrogateProcess, expectDone = true) {
  balancer.route(via.webPort);
  const browser = new Browser();
  const { consent, done } = await approveConsent(browser, grant.verification_uri_complete);
  expect(consent.status).toBe(200);
  expect(done.url.pathname).toBe("/callback");
  if (expectDone) expect(done.body).toContain("You can close this tab");
  return done;
}

function collect(grant: Grant, on: SurrogateProcess) {
  const form = { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: grant.device_code };
  return agentForm(on.agentPort, "/v1/token", form, pki.alpha, pki.ca.certPem);
}

function proxied(via: SurrogateProcess, wrapper: string) {
  return agentFetch(via.agentPort, `/127.0.0.1:${upstream.port}/hello`, pki.alpha, pki.ca.certPem, {
    headers: { authorization: `Bearer ${wrapper}` },
  });
}

let wrapper = "";

describe("two instances, one Redis", () => {
  test("grant on A, consent and callback on B, collected on A, proxied through B", async () => {
    const grant = await createGrant(a);
    await approve(grant, b);
    await b.waitForLine("token.minted");
    expect(a.lines.some((line) => line.includes("token.minted"))).toBe(false);

    const collected = await collect(grant, a);
    expect(collected.status).toBe(200);
    wrapper = ((await collected.json()) as { access_token: string }).access_token;
    const response = await proxied(b, wrapper);
    expect(response.status).toBe(200);
    await response.body?.cancel();
    // Read from the upstream's record: the echo in the response is masked (response scrubbing).
    expect(upstream.requests.at(-1)?.headers.get("authorization")).toBe(
      `Bearer ${idp.lastIssued.accessToken}`,
    );
    // Handed out once, across instances too.
    expect((await collect(grant, b)).status).toBe(400);
  });

  test("Redis down: 503 temporarily_unavailable on /v1/grants, proxying unaffected, recovery by itself", async () => {
    await redis.stop();
    const refused = await agentForm(
      a.agentPort,
      "/v1/grants",
      { provider: "stub" },
      pki.alpha,
      pki.ca.certPem,
    );
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toBe("temporarily_unavailable");
    expect((await proxied(b, wrapper)).status).toBe(200);
    expect((await proxied(a, wrapper)).status).toBe(200);

    await redis.start();
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
      const retry = await agentForm(
        a.agentPort,
        "/v1/grants",
        { provider: "stub" },
        pki.alpha,
        pki.ca.certPem,
      );
      status = retry.status;
      if (status !== 200) await Bun.sleep(200);
    }
    expect(status).toBe(200);
  }, 40_000);

  test("IdP token endpoint down at callback: error page, grant stays pending, nothing minted; retry works once it is back", async () => {
    const grant = await createGrant(a, "down");
    const page = await approve(grant, b, false);
    expect(page.status).toBe(502);
    expect(page.body).toContain("could not be reached");
    expect(await b.waitForLine('"code":"idp_network"')).toContain("consent.failed");
    const pending = await collect(grant, a);
    expect(((await pending.json()) as { error: string }).error).toBe("authorization_pending");

    // The IdP comes back: the same user code can be approved again until the grant expires.
    const back = Bun.serve({
      hostname: "127.0.0.1",
      port: tokenPort,
      fetch: async (request) =>
        fetch(`${idp.issuer}/token`, {
          method: "POST",
          headers: request.headers,
          body: await request.text(),
        }),
    });
    try {
      await approve(grant, a);
      await Bun.sleep(1_100); // rendezvous.interval is 1 s: polling sooner is slow_down, by design
      expect((await collect(grant, a)).status).toBe(200);
    } finally {
      await back.stop(true);
    }
  });

  test("A killed (SIGKILL) between creation and callback: the flow completes via B", async () => {
    const grant = await createGrant(a);
    a.signal("SIGKILL");
    await a.exited;
    await approve(grant, b);
    const collected = await collect(grant, b);
    expect(collected.status).toBe(200);
    const fresh = ((await collected.json()) as { access_token: string }).access_token;
    expect((await proxied(b, fresh)).status).toBe(200);
  });
});

/**
 * Scale-out figures, in one run:
 * 1. the agent API's grant creation and token polling throughput with the memory store and with
 *    Redis (the real handler, in process, no TLS: what the broker and its store cost per call);
 * 2. the cost of minting one wrapper pair at the callback (issueWrappers: access + refresh);
 * 3. proxied requests/s through one `surrogate serve --role proxy` process versus two, the load
 *    spread over both (real processes, mTLS, a separate upstream process).
 * Redis: --redis URL, else $SURROGATE_TEST_REDIS, else a redis-server started for the run.
 * Run: bun scripts/bench/broker.ts [seconds per proxy scenario, default 3]
 */

import type { AgentRequest } from "../../src/agent-port/http1/types.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { issueWrappers } from "../../src/broker/issue.ts";
import { resolveProviders } from "../../src/broker/providers/registry.ts";
import { createMemoryStore } from "../../src/broker/rendezvous/memory.ts";
import { createRedisStore } from "../../src/broker/rendezvous/redis.ts";
import type { RendezvousStore } from "../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { writeKeySetsToDir } from "../../src/core/keys/files.ts";
import { loadKeySets } from "../../src/core/keys/load.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import type { UpstreamTokens } from "../../src/core/provider/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createLineBatcher } from "../../src/ops/log/batch.ts";
import { createLogger } from "../../src/ops/log/logger.ts";
import { certificateBound } from "../../test/helpers/bindings.ts";
import { testPki } from "../../test/helpers/pki.ts";
import { deploymentDir, instanceConfig, spawnSurrogate, writePki } from "../../test/helpers/process.ts";
import { startStubIdp } from "../../test/helpers/stub-idp.ts";
import { startTestRedis } from "../../test/unit/broker/rendezvous/redis-server.ts";
import { stubProviderConfig, webConfig } from "../../test/unit/web-port/fixtures.ts";

const GRANTS = 3000;
/** Grants and polls run once on a throwaway store first, so neither backend pays for the JIT warm-up. */
const WARM_UP = 1000;
const CONCURRENCY = 16;
const MINTS = 2000;
const silent = createLogger(
  createLineBatcher(() => {}),
  "bench",
);

/** Runs `count` calls of `call(i)` with `concurrency` in flight; returns calls per second. */
async function rate(count: number, concurrency: number, call: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await call(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - start) / 1000);
}

function form(target: string, fields: Record<string, string>, client: AgentRequest["client"]): AgentRequest {
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
  return {
    method: "POST",
    target,
    rawHeaders: [...headers.entries()],
    headers,
    body: new Response(new URLSearchParams(fields).toString()).body,
    signal: new AbortController().signal,
    client,
  };
}

async function brokerRates(
  store: RendezvousStore,
  keys: KeySets,
  providers: Awaited<ReturnType<typeof resolveProviders>>,
  config: ReturnType<typeof webConfig>,
  count = GRANTS,
) {
  const pki = await testPki();
  const client = describeCertificate(pki.alpha.der);
  const api = createAgentApi({
    config,
    policy: new PolicyGate(config.policy),
    revocations: new RevocationList(),
    providers,
    store,
    keys: () => keys,
    now: Date.now,
    logger: silent,
  });
  const codes: string[] = [];
  const grants = await rate(count, CONCURRENCY, async () => {
    const response = await api(form("/v1/grants", { provider: "stub" }, client));
    if (response.status !== 200) throw new Error(`grant: HTTP ${response.status} ${await response.text()}`);
    codes.push(((await response.json()) as { device_code: string }).device_code);
  });
  const grantType = "urn:ietf:params:oauth:grant-type:device_code";
  const polls = await rate(codes.length, CONCURRENCY, async (i) => {
    const fields = { grant_type: grantType, device_code: codes[i] ?? "" };
    const response = await api(form("/v1/token", fields, client));
    const body = (await response.json()) as { error?: string };
    if (body.error !== "authorization_pending") throw new Error(`poll: ${body.error}`);
  });
  return { grants, polls };
}

async function mintCost(keys: KeySets, providers: Awaited<ReturnType<typeof resolveProviders>>) {
  const provider = providers.get("stub");
  if (provider === undefined) throw new Error("no provider");
  const thumbprint = thumbprintOf((await testPki()).alpha.der);
  const tokens: UpstreamTokens = {
    accessToken: new Secret(`stub-real-access-${"x".repeat(40)}`),
    refreshToken: new Secret(`stub-real-refresh-${"y".repeat(40)}`),
    tokenType: "Bearer",
    expiresIn: 3600,
    scope: "openid email",
  };
  const context = {
    provider,
    bindings: certificateBound(thumbprint),
    requestedScope: ["openid"],
    idClaims: { sub: "bench", email: "b@example.com" },
  };
  const options = { issuer: "https://broker.bench", tokenTtl: 3600, now: Date.now() };
  const samples: number[] = [];
  for (let i = 0; i < MINTS + 200; i += 1) {
    const start = performance.now();
    await issueWrappers(tokens, context, keys, options);
    if (i >= 200) samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return (samples[Math.floor(samples.length / 2)] ?? 0) * 1000;
}

async function proxyRates(seconds: number) {
  const pki = await testPki();
  const dir = await deploymentDir();
  const files = await writePki(pki, dir.path);
  const written = await writeKeySetsToDir(dir.dir);
  const upstream = Bun.spawn(["bun", import.meta.path, "upstream", files.cert, files.key], {
    stdout: "pipe",
  });
  const port = await firstLine(upstream);
  const config = instanceConfig({
    issuer: "https://broker.bench",
    pki: files,
    signing: `file:${written.signingPath}`,
    encryption: `file:${written.encryptionPath}`,
    upstreams: [`127.0.0.1:${port}`],
  });
  await Bun.write(dir.path("proxy.toml"), config);
  const spawn = (name: string) => spawnSurrogate({ name, configPath: dir.path("proxy.toml"), role: "proxy" });
  const [a, b] = await Promise.all([spawn("A"), spawn("B")]);
  const keys = await loadKeySets(
    { signing: `file:${written.signingPath}`, encryption: `file:${written.encryptionPath}` },
    {},
  );
  const request = {
    kind: "access" as const,
    provider: "stub",
    binding: { kind: "x5t#S256" as const, value: thumbprintOf(pki.alpha.der) },
  };
  const secret = { token: new Secret(`gho_${"x".repeat(36)}`), type: "Bearer" };
  const { token } = await mintWrapper({ ...request, secret }, keys, {
    issuer: "https://broker.bench",
    tokenTtl: 3600,
    now: Date.now(),
  });
  const tls = { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem };
  const init = { tls, headers: { authorization: `Bearer ${token}` } } as RequestInit;
  const rows: string[] = [];
  try {
    for (const clients of [16, 64]) {
      const one = await load([a.agentPort], port, init, clients, seconds);
      const two = await load([a.agentPort, b.agentPort], port, init, clients, seconds);
      rows.push(`| ${clients} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${(two / one).toFixed(2)} |`);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    upstream.kill();
    await dir.remove();
  }
  return rows;
}

async function firstLine(child: { stdout: ReadableStream<Uint8Array> }): Promise<number> {
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  return Number(new TextDecoder().decode(value).trim());
}

/** Client i talks to instance i mod n, each client one keep-alive request after another. */
async function load(
  ports: number[],
  upstreamPort: number,
  init: RequestInit,
  clients: number,
  seconds: number,
) {
  let count = 0;
  const run = async (agentPort: number, until: number, record: boolean) => {
    const url = `https://localhost:${agentPort}/127.0.0.1:${upstreamPort}/items`;
    while (performance.now() < until) {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`proxy: HTTP ${response.status}`);
      if (record) count += 1;
    }
  };
  const spread = (until: number, record: boolean) =>
    Promise.all(Array.from({ length: clients }, (_, i) => run(ports[i % ports.length] ?? 0, until, record)));
  await spread(performance.now() + 500, false);
  const start = performance.now();
  await spread(start + seconds * 1000, true);
  return count / ((performance.now() - start) / 1000);
}

async function main(seconds: number, redisArg: string | undefined) {
  const own = (redisArg ?? Bun.env.SURROGATE_TEST_REDIS) ? undefined : await startTestRedis();
  const redisUrl = redisArg ?? Bun.env.SURROGATE_TEST_REDIS ?? own?.url ?? "";
  const idp = await startStubIdp();
  const config = webConfig("https://broker.bench", { stub: stubProviderConfig(idp) });
  const limits = { maxPendingPerWorkload: 1_000_000, maxPendingTotal: 1_000_000 };
  // The bench measures the store, not the per-workload creation rate limit (one workload makes every grant).
  config.rendezvous = { ...config.rendezvous, ...limits, createRate: 1_000_000 };
  const providers = await resolveProviders(config, { fetch, now: Date.now });
  const dir = await deploymentDir();
  const written = await writeKeySetsToDir(dir.dir);
  const keys = await loadKeySets(
    { signing: `file:${written.signingPath}`, encryption: `file:${written.encryptionPath}` },
    {},
  );
  console.log(
    `Bun ${Bun.version}; ${GRANTS} grants then ${GRANTS} polls per store, ${CONCURRENCY} in flight\n`,
  );
  console.log("| store | grants/s | polls/s |\n|---|---|---|");
  const throwaway = createMemoryStore(limits);
  await brokerRates(throwaway, keys, providers, config, WARM_UP);
  await throwaway.close();
  for (const [name, store] of [
    ["memory", createMemoryStore(limits)],
    [
      "redis",
      createRedisStore(redisUrl, limits, {
        prefix: `surrogate-bench:${crypto.randomUUID()}:`,
        keys: () => keys,
      }),
    ],
  ] as const) {
    const r = await brokerRates(store, keys, providers, config);
    console.log(`| ${name} | ${r.grants.toFixed(0)} | ${r.polls.toFixed(0)} |`);
    await store.close();
  }
  console.log(
    `\nissueWrappers (access + refresh wrapper), median of ${MINTS}: ${(await mintCost(keys, providers)).toFixed(0)} µs\n`,
  );
  console.log(`proxied req/s, ${seconds} s per scenario after 0.5 s warm-up\n`);
  console.log("| clients | one instance | two instances | ratio |\n|---|---|---|---|");
  for (const row of await proxyRates(seconds)) console.log(row);
  await idp.close();
  await dir.remove();
  await own?.stop();
}

const [role, certPath, keyPath] = process.argv.slice(2);
if (role === "upstream" && certPath !== undefined && keyPath !== undefined) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: await Bun.file(certPath).text(), key: await Bun.file(keyPath).text() },
    fetch: () => Response.json({ ok: true, items: [1, 2, 3] }),
  });
  console.log(server.port);
} else {
  const redisIndex = process.argv.indexOf("--redis");
  const redis = redisIndex > 0 ? process.argv[redisIndex + 1] : undefined;
  await main(Number(role && !role.startsWith("--") ? role : 3), redis);
}

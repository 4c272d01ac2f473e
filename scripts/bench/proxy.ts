/**
 * Proxy throughput and latency: the same small HTTPS upstream called directly and through the
 * swapping proxy (real agent port, mTLS, verify + binding + open + inject + forward), in one run,
 * with 1, 16 and 64 concurrent keep-alive clients. Upstream, proxy and load generator each run in
 * their own process so they do not share one event loop.
 * Run: bun scripts/bench/proxy.ts [seconds per scenario, default 3]
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentServer } from "../../src/agent-port/server.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { parseBundle } from "../../src/core/identity/bundle.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { ClientTrust } from "../../src/core/identity/trust.ts";
import { generateKeySets } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import { parseUpstream } from "../../src/core/provider/allowlist.ts";
import { parseInjection } from "../../src/core/provider/inject.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createLineBatcher } from "../../src/ops/log/batch.ts";
import { createLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { testPki } from "../../test/helpers/pki.ts";
import { spawnRole } from "./lib/roles.ts";

const ISSUER = "https://broker.bench";
const CONCURRENCY = [1, 16, 64];
const BODY = JSON.stringify({
  ok: true,
  items: Array.from({ length: 8 }, (_, i) => ({ id: i, name: `item-${i}` })),
});

const read = (dir: string, name: string) => readFileSync(join(dir, name), "utf8");

/** Child role: a plain HTTPS upstream answering a fixed ~300-byte JSON body. */
function runUpstream(dir: string): void {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: read(dir, "server.pem"), key: read(dir, "server.key") },
    fetch: () => new Response(BODY, { headers: { "content-type": "application/json" } }),
  });
  console.log(server.port);
}

/**
 * Child role: the agent port with the proxy handler, allowing the upstream. `caMode` "option" passes
 * the upstream CA as `upstream_ca` (Bun then gets system roots + that CA on every fetch); "env" leaves
 * it unset and the parent trusts the CA through SSL_CERT_FILE, which Bun adds to its bundled roots.
 */
async function runProxy(dir: string, upstreamPort: number, caMode: string): Promise<void> {
  const jwks = JSON.parse(read(dir, "keys.json"));
  const keys = await keySetsFromJwks(jwks.signing, jwks.encryption);
  const provider = {
    name: "bench",
    kind: "oidc" as const,
    upstreams: [parseUpstream(`127.0.0.1:${upstreamPort}`, "upstreams")],
    inject: parseInjection("Authorization: Bearer {token}", "inject"),
    scopes: [],
    jwtAccessTokens: false,
    oidc: true,
  };
  const logger = createLogger(
    createLineBatcher(() => {}),
    "bench",
  );
  const server = await startAgentServer({
    host: "127.0.0.1",
    port: 0,
    certPem: read(dir, "server.pem"),
    keyPem: read(dir, "server.key"),
    trust: new ClientTrust({
      clientCa: { source: "bench", ders: parseBundle(read(dir, "ca.pem"), "bench") },
    }),
    handler: createProxyHandler({
      providers: new Map([["bench", provider]]),
      policy: new PolicyGate([{ workload: "**", providers: ["bench"] }]),
      revocations: new RevocationList(),
      keys: () => keys,
      issuer: ISSUER,
      fetch,
      now: Date.now,
      logger,
      upstreamTimeout: 30,
      ...(caMode === "option" ? { upstreamCa: read(dir, "ca.pem") } : {}),
    }),
    limits: { headersTimeout: 10, idleTimeout: 60, requestTimeout: 300, maxHeaderSize: 16384 },
    logger,
  });
  console.log(server.port);
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** `concurrency` workers, each one sequential request after another on its own keep-alive connection. */
async function load(url: string, init: RequestInit, concurrency: number, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    while (performance.now() < until) {
      const start = performance.now();
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.status !== 200) errors += 1;
      if (record) latencies.push(performance.now() - start);
    }
  };
  const warm = performance.now() + 500;
  await Promise.all(Array.from({ length: concurrency }, () => run(warm, false)));
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => run(until, true)));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

async function main(seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-"));
  const pki = await testPki();
  const generated = await generateKeySets("ES256");
  const keys = await keySetsFromJwks(generated.signing, generated.encryption);
  writeFileSync(join(dir, "ca.pem"), pki.ca.certPem);
  writeFileSync(join(dir, "server.pem"), pki.server.certPem);
  writeFileSync(join(dir, "server.key"), pki.server.keyPem);
  writeFileSync(join(dir, "keys.json"), JSON.stringify(generated));
  const upstream = await spawnRole(import.meta.path, ["upstream", dir]);
  const viaOption = await spawnRole(import.meta.path, ["proxy", dir, String(upstream.port), "option"]);
  const viaEnv = await spawnRole(import.meta.path, ["proxy", dir, String(upstream.port), "env"], {
    SSL_CERT_FILE: join(dir, "ca.pem"),
  });
  try {
    const { token } = await mintWrapper(
      {
        kind: "access",
        provider: "bench",
        binding: {
          kind: "x5t#S256",
          value: thumbprintOf(pki.alpha.der),
        },
        secret: { token: new Secret(`gho_${"x".repeat(36)}`), type: "Bearer" },
      },
      keys,
      { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
    );
    const tls = { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem };
    const proxiedInit = { tls, headers: { authorization: `Bearer ${token}` } } as RequestInit;
    const path = (port: number) => `https://localhost:${port}/127.0.0.1:${upstream.port}/items`;
    const scenarios: Array<[string, string, RequestInit]> = [
      ["direct", `https://127.0.0.1:${upstream.port}/items`, { tls } as RequestInit],
      ["proxy, upstream_ca", path(viaOption.port), proxiedInit],
      ["proxy, SSL_CERT_FILE", path(viaEnv.port), proxiedInit],
    ];
    console.log(`Bun ${Bun.version}, ${seconds} s per scenario after 0.5 s warm-up\n`);
    console.log("| clients | path | req/s | vs direct | p50 ms | p99 ms |");
    console.log("|---|---|---|---|---|---|");
    for (const concurrency of CONCURRENCY) {
      let direct = 0;
      for (const [name, url, init] of scenarios) {
        const r = await load(url, init, concurrency, seconds);
        if (name === "direct") direct = r.rps;
        if (r.errors > 0) console.error(`${name}: ${r.errors} non-200 answers`);
        console.log(
          `| ${concurrency} | ${name} | ${r.rps.toFixed(0)} | ${(r.rps / direct).toFixed(2)} | ` +
            `${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
        );
      }
    }
  } finally {
    await Promise.all([upstream, viaOption, viaEnv].map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const roleAt = process.argv.indexOf("--role");
const [role, dir, port, caMode] = roleAt < 0 ? [] : process.argv.slice(roleAt + 1);
if (role === "upstream" && dir !== undefined) runUpstream(dir);
else if (role === "proxy" && dir !== undefined) await runProxy(dir, Number(port), caMode ?? "option");
else await main(Number(process.argv[2] ?? 3));

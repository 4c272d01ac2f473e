/**
 * Key rotation without downtime across real processes (docs/operations.md, "Key rotation"), with
 * SIGHUP as the only way new key files take effect:
 *   0. A holds [k2, k1] while B still holds [k1]: B's wrappers verify everywhere, but A's new
 *      wrappers are refused by B — which is why the procedure stages k2 everywhere first;
 *   1. staged: B holds [k1, k2] (verifies k2, still signs with k1): wrappers from both instances
 *      verify on both (the overlap);
 *   2. promoted: B holds [k2, k1];
 *   3. retired: both hold [k2]; wrappers signed with k1 are refused with invalid_token.
 * C is a proxy-only instance taking its verification keys from A's /.well-known/jwks.json
 * (jwks: source, no signing private key): it follows A's rotation on SIGHUP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { JSONWebKeySet, JWK } from "jose";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { generateEncryptionJwk, generateSigningJwk } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import {
  agentFetch,
  deploymentDir,
  instanceConfig,
  type SurrogateProcess,
  spawnSurrogate,
  writePki,
} from "../helpers/process.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const ISSUER = "https://broker.rotation.test";

interface KeyPair {
  signing: JWK;
  encryption: JWK;
}

let pki: TestPki;
let upstream: Upstream;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let k1: KeyPair;
let k2: KeyPair;
let a: SurrogateProcess;
let b: SurrogateProcess;
let c: SurrogateProcess;

const sets = (...pairs: KeyPair[]) => ({
  signing: { keys: pairs.map((p) => p.signing) } as JSONWebKeySet,
  encryption: { keys: pairs.map((p) => p.encryption) } as JSONWebKeySet,
});

async function writeKeys(name: string, ...pairs: KeyPair[]) {
  const { signing, encryption } = sets(...pairs);
  await Bun.write(dir.path(`${name}-signing.jwks`), JSON.stringify(signing));
  await Bun.write(dir.path(`${name}-encryption.jwks`), JSON.stringify(encryption));
}

/** What the instance holding `pairs` would mint (DESIGN §5: the format is the interface). */
async function wrapperFrom(...pairs: KeyPair[]): Promise<string> {
  const { signing, encryption } = sets(...pairs);
  const keys = await keySetsFromJwks(signing, encryption);
  const request = {
    kind: "access" as const,
    provider: "stub",
    binding: { kind: "x5t#S256" as const, value: thumbprintOf(pki.alpha.der) },
  };
  const secret = { token: new Secret("real-static-token"), type: "Bearer" };
  const minted = await mintWrapper({ ...request, secret }, keys, {
    issuer: ISSUER,
    tokenTtl: 600,
    now: Date.now(),
  });
  return minted.token;
}

async function status(via: SurrogateProcess, wrapper: string): Promise<number | string> {
  const response = await agentFetch(
    via.agentPort,
    `/127.0.0.1:${upstream.port}/r`,
    pki.alpha,
    pki.ca.certPem,
    {
      headers: { authorization: `Bearer ${wrapper}` },
    },
  );
  if (response.status === 200) return 200;
  expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  return ((await response.json()) as { code: string }).code;
}

/** SIGHUP, then wait for the reload to be logged (the n-th time for this process). */
async function reload(instance: SurrogateProcess) {
  const before = instance.lines.filter((line) => line.includes("surrogate.reloaded")).length;
  instance.signal("SIGHUP");
  for (let i = 0; i < 200; i += 1) {
    if (instance.lines.filter((line) => line.includes("surrogate.reloaded")).length > before) return;
    if (instance.lines.some((line) => line.includes("surrogate.reload_failed"))) break;
    await Bun.sleep(25);
  }
  throw new Error(`${instance.name} did not reload:\n${instance.lines.join("\n")}`);
}

beforeAll(async () => {
  [pki, dir] = await Promise.all([testPki(), deploymentDir()]);
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  k1 = { signing: await generateSigningJwk(), encryption: generateEncryptionJwk() };
  k2 = { signing: await generateSigningJwk(), encryption: generateEncryptionJwk() };
  const files = await writePki(pki, dir.path);
  await writeKeys("a", k2, k1);
  await writeKeys("b", k1);
  await writeKeys("c", k2, k1);
  const base = { issuer: ISSUER, pki: files, upstreams: [`127.0.0.1:${upstream.port}`] };
  for (const name of ["a", "b"]) {
    const signing = `file:${dir.path(`${name}-signing.jwks`)}`;
    const encryption = `file:${dir.path(`${name}-encryption.jwks`)}`;
    await Bun.write(dir.path(`${name}.toml`), instanceConfig({ ...base, signing, encryption }));
  }
  [a, b] = await Promise.all([
    spawnSurrogate({ name: "A", configPath: dir.path("a.toml") }),
    spawnSurrogate({ name: "B", configPath: dir.path("b.toml") }),
  ]);
  const jwks = `jwks:http://127.0.0.1:${a.webPort}/.well-known/jwks.json`;
  const cConfig = { ...base, signing: jwks, encryption: `file:${dir.path("c-encryption.jwks")}` };
  await Bun.write(dir.path("c.toml"), instanceConfig(cConfig));
  c = await spawnSurrogate({ name: "C", configPath: dir.path("c.toml"), role: "proxy" });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await upstream?.stop();
  await dir?.remove();
});

describe("rotation without downtime", () => {
  test("the whole procedure, step by step", async () => {
    const fromB = await wrapperFrom(k1);
    const fromA = await wrapperFrom(k2, k1);

    // 0. B lags behind: its wrappers verify everywhere, A's new ones not on B.
    expect([await status(a, fromB), await status(b, fromB), await status(c, fromB)]).toEqual([200, 200, 200]);
    expect([await status(a, fromA), await status(c, fromA)]).toEqual([200, 200]);
    expect(await status(b, fromA)).toBe("invalid_token");

    // 1. Staged on B: the overlap, both instances' wrappers verify on both.
    await writeKeys("b", k1, k2);
    await reload(b);
    const fromStagedB = await wrapperFrom(k1, k2);
    for (const wrapper of [fromA, fromB, fromStagedB]) {
      expect([await status(a, wrapper), await status(b, wrapper), await status(c, wrapper)]).toEqual([
        200, 200, 200,
      ]);
    }

    // 2. Promoted on B: it signs with k2 now.
    await writeKeys("b", k2, k1);
    await reload(b);
    const fromPromotedB = await wrapperFrom(k2, k1);
    expect([await status(a, fromPromotedB), await status(b, fromPromotedB)]).toEqual([200, 200]);

    // 3. Retired (after token_ttl): k1 wrappers are refused everywhere, k2 wrappers still work.
    await writeKeys("a", k2);
    await writeKeys("b", k2);
    await writeKeys("c", k2);
    await Promise.all([reload(a), reload(b)]);
    await reload(c); // refetches A's JWKS, which no longer lists k1
    for (const instance of [a, b, c]) {
      expect(await status(instance, fromB)).toBe("invalid_token");
      expect(await status(instance, fromStagedB)).toBe("invalid_token");
      expect(await status(instance, fromA)).toBe(200);
      expect(await status(instance, fromPromotedB)).toBe(200);
    }
  });

  test("the proxy-only instance holds no signing key and serves no web port or agent API", async () => {
    expect(c.webPort).toBeUndefined();
    const api = await agentFetch(c.agentPort, "/v1/grants", pki.alpha, pki.ca.certPem, { method: "POST" });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: string }).error).toBe("invalid_request");
    const reloaded = c.lines.filter((line) => line.includes("surrogate.reloaded")).at(-1) ?? "{}";
    expect((JSON.parse(reloaded) as { signing?: string }).signing).toBeUndefined();
  });
});

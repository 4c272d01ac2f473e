/**
 * The real entry point (`bun src/main.ts …`, a separate process) against a real agent port:
 * node:tls with required client certificates, the broker's agent API and a memory rendezvous
 * store. The person's approval is played by the test through the store, the way the web
 * callback completes a grant (issueWrappers + store.deliver).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { issueWrappers } from "../../src/broker/issue.ts";
import { createMemoryStore } from "../../src/broker/rendezvous/memory.ts";
import type { GrantRecord, RendezvousStore } from "../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import type { Config } from "../../src/core/config/types.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../src/core/provider/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { openWrapper } from "../../src/core/token/open.ts";
import { verifyWrapper } from "../../src/core/token/verify.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { startTestAgent, TEST_AGENT_LIMITS } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { ALPHA_ID, type TestPki, testPki } from "../helpers/pki.ts";
import { ISSUER, scriptedIdp, testConfig, testProvider, upstreamTokens } from "../unit/broker/fixtures.ts";

const REPO = join(import.meta.dir, "../..");

let pki: TestPki;
let keys: KeySets;
let config: Config;
let store: RendezvousStore;
let server: AgentServer;
let shortGrants: AgentServer;
let dir: string;
const idp = scriptedIdp();
const providers = new Map<string, ResolvedProvider>([
  ["demo", testProvider({ name: "demo", oauth: idp })],
  ["secret", testProvider({ name: "secret", oauth: scriptedIdp() })],
]);
const paths = { ca: "", otherCa: "", cert: "", key: "" };

beforeAll(async () => {
  pki = await testPki();
  keys = await testKeySets();
  config = testConfig({
    policy: [{ workload: "spiffe://test.example/agents/*", providers: ["demo"] }],
    rendezvous: { interval: 1 },
  });
  store = createMemoryStore(config.rendezvous);
  const logger = createMemoryLogger();
  // The agent API copies [rendezvous] when it is created: a short-lived grant needs its own broker.
  const broker = (brokerConfig: Config) =>
    startTestAgent(
      pki,
      createAgentApi({
        config: brokerConfig,
        policy: new PolicyGate(brokerConfig.policy),
        revocations: new RevocationList(),
        providers,
        store,
        keys: () => keys,
        now: Date.now,
        logger,
      }),
      { limits: { ...TEST_AGENT_LIMITS, maxHeaderSize: 16384 }, logger },
    );
  server = await broker(config);
  shortGrants = await broker({ ...config, rendezvous: { ...config.rendezvous, grantTtl: 2 } });
  dir = await mkdtemp(join(tmpdir(), "surrogate-cli-it-"));
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  paths.ca = await write("ca.pem", pki.ca.certPem);
  paths.otherCa = await write("other-ca.pem", pki.otherCa.certPem);
  paths.cert = await write("alpha.pem", pki.alpha.certPem);
  paths.key = await write("alpha.key", pki.alpha.keyPem);
});

afterAll(async () => {
  await server.close();
  await shortGrants.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

interface Running {
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Spawns `bun src/main.ts <args>` with only PATH/HOME from outside plus `env`. */
function surrogate(args: string[], env: Record<string, string> = {}): Running {
  const child = Bun.spawn(["bun", "src/main.ts", ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const done = (async () => {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  })();
  return { done };
}

function brokerEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SURROGATE_BROKER: `https://127.0.0.1:${server.port}`,
    SURROGATE_CERT: paths.cert,
    SURROGATE_KEY: paths.key,
    SURROGATE_CA: paths.ca,
    ...overrides,
  };
}

/** Waits (bounded) for the grant the spawned login created. */
async function pendingGrant(): Promise<GrantRecord> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const [grant] = (await store.list(10, Date.now())).filter((g) => g.status === "pending");
    if (grant !== undefined) return grant;
    await Bun.sleep(25);
  }
  throw new Error("login never created a grant");
}

/** What the web callback does after the person approved and the IdP answered. */
async function approve(grant: GrantRecord, refreshToken?: string): Promise<void> {
  expect(await store.transition(grant.id, "pending", "approved", Date.now())).toBe(true);
  const tokens = upstreamTokens(
    "upstream-access",
    refreshToken ? { refreshToken: new Secret(refreshToken) } : {},
  );
  const issued = await issueWrappers(
    tokens,
    {
      provider: providers.get("demo") as ResolvedProvider,
      bindings: grant.bindings,
      requestedScope: grant.scope,
    },
    keys,
    { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
  );
  expect(await store.deliver(grant.id, JSON.stringify(issued.body), Date.now())).toBe(true);
}

function userCodeOf(grant: GrantRecord): string {
  return `${grant.userCode.slice(0, 4)}-${grant.userCode.slice(4)}`;
}

describe("surrogate login (real process, real agent port)", () => {
  test("stdout is exactly the wrapper; stderr has the URL and the user code", async () => {
    const run = surrogate(["login", "demo"], brokerEnv());
    const grant = await pendingGrant();
    await approve(grant);
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(result.stderr).toContain(`${ISSUER}/device?user_code=${userCodeOf(grant)}`);
    expect(result.stderr).toContain(userCodeOf(grant));
    const verified = await verifyWrapper(result.stdout.trimEnd(), "access", keys, {
      issuer: ISSUER,
      now: Date.now(),
    });
    expect(verified.binding).toEqual({ kind: "x5t#S256", value: thumbprintOf(pki.alpha.der) });
    expect((await openWrapper(verified, keys)).token.reveal()).toBe("upstream-access");
  });

  test("--json prints the token response, and refresh trades its refresh wrapper", async () => {
    const run = surrogate(
      ["login", "demo", "--json", "--broker", `https://127.0.0.1:${server.port}`],
      brokerEnv({ SURROGATE_BROKER: "" }),
    );
    await approve(await pendingGrant(), "upstream-refresh");
    const result = await run.done;
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(Object.keys(body).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_token",
      "scope",
      "token_type",
    ]);
    const saved = join(dir, "login.json");
    await writeFile(saved, result.stdout);

    idp.script.push(upstreamTokens("upstream-access-2", { refreshToken: new Secret("upstream-refresh-2") }));
    const refreshed = await surrogate(["refresh", "--in", saved], brokerEnv()).done;
    expect(refreshed.code).toBe(0);
    const verified = await verifyWrapper(refreshed.stdout.trimEnd(), "access", keys, {
      issuer: ISSUER,
      now: Date.now(),
    });
    expect((await openWrapper(verified, keys)).token.reveal()).toBe("upstream-access-2");
    expect(idp.received).toEqual(["upstream-refresh"]);
  });

  test("a denial exits 1 with one line and nothing on stdout", async () => {
    const run = surrogate(["login", "demo"], brokerEnv());
    const grant = await pendingGrant();
    expect(await store.transition(grant.id, "pending", "denied", Date.now())).toBe(true);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(
      "surrogate login: the request was denied (access_denied)",
    );
  });

  test("an unapproved grant expires: exit 1, expired_token", async () => {
    const env = brokerEnv({ SURROGATE_BROKER: `https://127.0.0.1:${shortGrants.port}` });
    const result = await surrogate(["login", "demo"], env).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n").at(-1)).toEndWith("(expired_token)");
  });

  test("a provider the policy does not allow", async () => {
    const result = await surrogate(["login", "secret"], brokerEnv()).done;
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `surrogate login: no [[policy]] rule allows workload ${ALPHA_ID} to use provider secret (access_denied)\n`,
    });
  });

  test("the wrong --ca: exit 1, one line naming --ca", async () => {
    const result = await surrogate(["login", "demo", "--ca", paths.otherCa], brokerEnv()).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `surrogate login: the broker's certificate is not trusted by --ca ${paths.otherCa} [SELF_SIGNED_CERT_IN_CHAIN] (certificate_invalid)\n`,
    );
  });
});

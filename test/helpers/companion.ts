/**
 * A whole agent-side world for `surrogate run` / `surrogate agent` tests: the real agent port
 * (broker API and swapping proxy behind one mTLS listener), a TLS upstream that records what it
 * received, wrapper files minted for the test PKI's alpha certificate, and the companion started
 * as a real `bun src/main.ts` process.
 */

import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { AgentRequest } from "../../src/agent-port/http1/types.ts";
import { routeAgentRequests } from "../../src/agent-port/router.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { issueWrappers } from "../../src/broker/issue.ts";
import { createMemoryStore } from "../../src/broker/rendezvous/memory.ts";
import type { GrantRecord } from "../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { parseUpstream } from "../../src/core/provider/allowlist.ts";
import { parseInjection } from "../../src/core/provider/inject.ts";
import type { ResolvedProvider } from "../../src/core/provider/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import {
  ISSUER,
  type ScriptedIdp,
  scriptedIdp,
  testConfig,
  upstreamTokens,
} from "../unit/broker/fixtures.ts";
import { startTestAgent } from "./agent-server.ts";
import { certificateBound } from "./bindings.ts";
import { testKeySets } from "./keys.ts";
import { ALPHA_ID, type TestPki, testPki } from "./pki.ts";
import { startUpstream, type Upstream } from "./upstream.ts";

const REPO = resolve(import.meta.dir, "../..");
export const REAL_TOKEN = "real-upstream-token-7c4e1a";

export interface ProviderSpec {
  name: string;
  kind?: ResolvedProvider["kind"];
  upstreams: string[];
  inject?: string;
  /** For git's smart-HTTP paths (as the github and gitlab profiles set it). */
  gitInject?: string;
}

export interface CompanionWorld {
  pki: TestPki;
  keys: KeySets;
  idp: ScriptedIdp;
  agent: AgentServer;
  upstream: Upstream;
  dir: string;
  tokens: string;
  paths: { ca: string; cert: string; key: string };
  /** Certificate thumbprints the proxy saw, one per proxied request, in order. */
  proxied: string[];
  /** Writes `<tokens>/<provider>.json` as `login --json` would, with the real token inside. */
  writeWrapper(
    provider: string,
    options?: {
      expiresIn?: number;
      refresh?: string;
      token?: string;
      /** What the refresh wrapper binds: the certificate (default) or the alpha SPIFFE ID. */
      refreshBinding?: "certificate" | "spiffe_id";
    },
  ): Promise<void>;
  /** Writes a bare wrapper bound to the alpha key pair (`cnf.jkt`), as `surrogate seal --public-key` would. */
  writeSealed(provider: string): Promise<void>;
  /** Plays the person and the IdP for the grant a login created: approve, deliver wrappers for `token`. */
  approvePending(token: string): Promise<string>;
  /** SURROGATE_* for the alpha certificate. */
  brokerEnv(): Record<string, string>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** The proxy's fetch toward upstreams (default: the global one); gh's test resolves a public name with it. */
  fetch?: typeof fetch;
}

export async function startCompanionWorld(
  specs: (upstreamPort: number) => ProviderSpec[],
  options: WorldOptions = {},
): Promise<CompanionWorld> {
  const [pki, keys] = await Promise.all([testPki(), testKeySets()]);
  const upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  const idp = scriptedIdp();
  const providers = new Map<string, ResolvedProvider>(
    specs(upstream.port).map((spec) => [
      spec.name,
      {
        name: spec.name,
        kind: spec.kind ?? "oidc",
        upstreams: spec.upstreams.map((entry) => parseUpstream(entry, "upstreams")),
        inject: parseInjection(spec.inject ?? "Authorization: Bearer {token}", "inject"),
        ...(spec.gitInject === undefined ? {} : { gitInject: parseInjection(spec.gitInject, "git_inject") }),
        scopes: ["openid"],
        jwtAccessTokens: false,
        oidc: true,
        oauth: idp,
      },
    ]),
  );
  const config = testConfig({
    policy: [{ workload: "spiffe://test.example/agents/*", providers: [...providers.keys()] }],
  });
  const logger = createMemoryLogger();
  const policy = new PolicyGate(config.policy);
  const revocations = new RevocationList();
  const proxy = createProxyHandler({
    policy,
    revocations,
    providers,
    keys: () => keys,
    issuer: ISSUER,
    fetch: options.fetch ?? fetch,
    now: Date.now,
    logger,
    upstreamTimeout: 10,
    upstreamCa: pki.ca.certPem,
  });
  const proxied: string[] = [];
  const store = createMemoryStore(config.rendezvous);
  const agent = await startTestAgent(
    pki,
    routeAgentRequests({
      broker: createAgentApi({
        config,
        policy,
        revocations,
        providers,
        store,
        keys: () => keys,
        now: Date.now,
        logger,
      }),
      proxy: (request: AgentRequest) => {
        proxied.push(request.client.thumbprint);
        return proxy(request);
      },
    }),
    { limits: { headersTimeout: 10, idleTimeout: 60, requestTimeout: 300, maxHeaderSize: 16384 }, logger },
  );
  const dir = await mkdtemp(join(tmpdir(), "surrogate-companion-"));
  const tokens = join(dir, "tokens");
  const paths = { ca: join(dir, "ca.pem"), cert: join(dir, "alpha.pem"), key: join(dir, "alpha.key") };
  await writeFile(paths.ca, pki.ca.certPem);
  await writeFile(paths.cert, pki.alpha.certPem);
  await writeFile(paths.key, pki.alpha.keyPem);
  return {
    pki,
    keys,
    idp,
    agent,
    upstream,
    dir,
    tokens,
    paths,
    proxied,
    async writeWrapper(name, options = {}) {
      const bindingsOf = (refresh: "certificate" | "spiffe_id" = "certificate") => {
        const bound = certificateBound(thumbprintOf(pki.alpha.der));
        // DESIGN §5: an SVID's refresh wrapper may bind its SPIFFE ID, so the next SVID refreshes.
        return refresh === "certificate"
          ? bound
          : { ...bound, refresh: { kind: "spiffe_id", value: ALPHA_ID } as const };
      };
      const provider = providers.get(name);
      if (provider === undefined) throw new Error(`no provider ${name}`);
      const tokensIn = upstreamTokens(options.token ?? REAL_TOKEN, {
        ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
        ...(options.refresh === undefined ? {} : { refreshToken: new Secret(options.refresh) }),
      });
      const issued = await issueWrappers(
        tokensIn,
        { provider, bindings: bindingsOf(options.refreshBinding), requestedScope: ["openid"] },
        keys,
        { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
      );
      await mkdir(tokens, { recursive: true, mode: 0o700 });
      await writeFile(join(tokens, `${name}.json`), JSON.stringify(issued.body), { mode: 0o600 });
    },
    async writeSealed(name) {
      const jwk = createPublicKey(pki.alpha.keyPem).export({ format: "jwk" }) as JWK;
      const minted = await mintWrapper(
        {
          kind: "access",
          provider: name,
          binding: { kind: "jkt", value: await calculateJwkThumbprint(jwk) },
          secret: { token: new Secret(REAL_TOKEN), type: "Bearer" },
        },
        keys,
        { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
      );
      await mkdir(tokens, { recursive: true, mode: 0o700 });
      await writeFile(join(tokens, `${name}.json`), `${minted.token}\n`, { mode: 0o600 });
    },
    async approvePending(token) {
      let grant: GrantRecord | undefined;
      for (let attempt = 0; attempt < 800 && grant === undefined; attempt += 1) {
        [grant] = (await store.list(10, Date.now())).filter((g) => g.status === "pending");
        if (grant === undefined) await Bun.sleep(25);
      }
      if (grant === undefined) throw new Error("no login created a grant");
      await store.transition(grant.id, "pending", "approved", Date.now());
      const provider = providers.get(grant.provider) as ResolvedProvider;
      const issued = await issueWrappers(
        upstreamTokens(token),
        { provider, bindings: grant.bindings, requestedScope: grant.scope },
        keys,
        { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
      );
      await store.deliver(grant.id, JSON.stringify(issued.body), Date.now());
      return grant.userCode;
    },
    brokerEnv() {
      return {
        SURROGATE_BROKER: `https://127.0.0.1:${agent.port}`,
        SURROGATE_CERT: paths.cert,
        SURROGATE_KEY: paths.key,
        SURROGATE_CA: paths.ca,
      };
    },
    async close() {
      await agent.close();
      await store.close();
      await upstream.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bun src/main.ts <args>` with only PATH and HOME from outside, plus `env`. */
export function surrogateProcess(args: string[], env: Record<string, string>) {
  const child = Bun.spawn(["bun", "src/main.ts", ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const done = (async (): Promise<Finished> => {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  })();
  return { child, done };
}

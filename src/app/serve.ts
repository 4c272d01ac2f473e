import { type AgentServer, startAgentServer } from "../agent-port/server.ts";
import { resolveProviders } from "../broker/providers/registry.ts";
import { openAccessStore, openStore } from "../broker/rendezvous/open.ts";
import { startRevocationSync } from "../broker/rendezvous/revocation-sync.ts";
import type { RendezvousStore } from "../broker/rendezvous/store.ts";
import { PolicyGate } from "../core/access/policy-gate.ts";
import type { Config, Env } from "../core/config/types.ts";
import { ConfigError } from "../core/errors.ts";
import { isJwksSource } from "../core/keys/remote-jwks.ts";
import type { Logger } from "../ops/log/logger.ts";
import { type Access, type App, createApp } from "./app.ts";
import { withKidRefresh } from "./kid-refresh.ts";
import { createKeySetsProvider, type KeySetsProvider } from "./remote-keys.ts";
import { type Role, servesBroker } from "./role.ts";

export interface ServeOptions {
  env: Env;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  /** Default `all`. */
  role?: Role;
  /** Longest wait for requests in flight at stop() before their connections are cut (default 30 s). */
  drainMs?: number;
  /** SO_REUSEPORT on both ports, for `--workers` (src/workers.ts). */
  reusePort?: boolean;
  /** Re-reads the configuration file on reload, for `[[policy]]`; absent, the policy stays as started. */
  reloadConfig?: () => Promise<Config>;
}

export interface RunningSurrogate {
  /** Undefined for the `proxy` role, which has no web port. */
  webPort: number | undefined;
  agentPort: number;
  /** Re-reads `[[policy]]`, the key sets and the agent port's certificate, key and client CA bundle. */
  reload(): Promise<void>;
  /** Stops accepting, lets requests in flight finish (bounded by `drainMs`), then releases everything. */
  stop(): Promise<void>;
}

/**
 * Starts the ports the role needs from a validated configuration. Everything that can fail on bad
 * input (key sets, TLS material, provider discovery, the rendezvous URL) is loaded before anything
 * listens, so a bad deployment stops at start-up instead of failing its first request.
 */
export async function startSurrogate(config: Config, options: ServeOptions): Promise<RunningSurrogate> {
  const role = options.role ?? "all";
  checkRole(config, role);
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const { logger } = options;
  const keys = await createKeySetsProvider(config.keys, { env: options.env, fetch: fetchImpl, now, logger });
  const tls = await readAgentTls(config);
  const upstreamCa = config.agent.upstreamCa
    ? await readPem(config.agent.upstreamCa, "agent.upstream_ca")
    : undefined;
  // A proxy only routes and injects: no IdP is contacted, so it starts even when they are down.
  const providers = await resolveProviders(config, {
    fetch: fetchImpl,
    now,
    routingOnly: !servesBroker(role),
  });
  const store = servesBroker(role) ? await openStore(config.rendezvous.url, config.rendezvous) : undefined;
  const access = await openAccess(config, role, now, logger);
  let agentListening = false;
  const policy = new PolicyGate(config.policy);
  const app = await createApp(config, {
    agentListening: () => agentListening,
    providers,
    policy,
    access,
    keys: keys.current,
    fetch: fetchImpl,
    now,
    logger,
    role,
    proxyEntrance: (proxy) => withKidRefresh(proxy, keys),
    ...(store === undefined ? {} : { store }),
    ...(upstreamCa === undefined ? {} : { upstreamCa }),
  });
  const agent: AgentServer = await startAgentServer({
    host: config.agent.listen.host,
    port: config.agent.listen.port,
    ...tls,
    handler: app.agent,
    limits: config.agent,
    logger: app.logger,
    now,
    reusePort: options.reusePort === true,
  });
  agentListening = true;
  const web =
    app.web === undefined ? undefined : await listenWeb(app.web, config, agent, options.reusePort === true);
  logger.info("surrogate.listening", { role, web: web?.port, agent: agent.port, rendezvous: store?.backend });
  return {
    webPort: web?.port,
    agentPort: agent.port,
    reload: () => reload({ config, agent, keys, logger, policy, reloadConfig: options.reloadConfig }),
    stop: () => stop({ agent, web: app.web, store, access, keys, drainMs: options.drainMs ?? 30_000 }),
  };
}

/**
 * Every role reads the revocations, the proxy included (issue #15). A proxy-only instance on
 * `memory:` cannot see a rule made on a broker: it starts (its wrappers still expire), but says so.
 */
async function openAccess(config: Config, role: Role, now: () => number, logger: Logger): Promise<Access> {
  const store = openAccessStore(config.rendezvous.url);
  if (role === "proxy" && store.backend === "memory") {
    logger.error("revocations.local_only", {
      reason:
        "rendezvous.url is memory: on a --role proxy instance; revocations made on a broker do not reach it",
    });
  }
  return { store, revocations: await startRevocationSync(store, { now, logger }) };
}

/**
 * Signing needs the private key; a `jwks:` source has public keys only, so only a proxy may use it.
 * The check runs before anything is read, so the error names the real problem.
 */
function checkRole(config: Config, role: Role): void {
  if (servesBroker(role) && isJwksSource(config.keys.signing)) {
    throw new ConfigError(
      "keys.signing",
      `the ${role} role mints wrappers and needs the private signing keys (file:, env: or credential:); jwks: is for --role proxy`,
    );
  }
}

type WebApp = NonNullable<App["web"]>;

async function listenWeb(web: WebApp, config: Config, agent: AgentServer, reusePort: boolean) {
  try {
    // Elysia's own listen, so route handlers see the Bun server (peer address for guess limiting).
    const { host, port } = config.web.listen;
    web.listen({ hostname: host, port, reusePort, ...(await webTls(config)) });
  } catch (cause) {
    await agent.close();
    throw new ConfigError("web.listen", "the web port did not start", { cause });
  }
  if (web.server === null) throw new ConfigError("web.listen", "the web port did not start");
  return { port: web.server.port ?? config.web.listen.port };
}

interface Reloadable {
  config: Config;
  agent: AgentServer;
  keys: KeySetsProvider;
  logger: Logger;
  policy: PolicyGate;
  reloadConfig: (() => Promise<Config>) | undefined;
}

/**
 * The file is read and validated first: a bad edit fails the whole reload (logged by the caller)
 * and the running policy stays. Only `[[policy]]` is taken from it; other settings need a restart.
 */
async function reload(parts: Reloadable) {
  const { agent, keys, logger, policy } = parts;
  const rules = (await parts.reloadConfig?.())?.policy;
  const material = await readAgentTls(parts.config);
  agent.reloadTls(material.certPem, material.keyPem, material.clientCaPem);
  // On failure the provider keeps the current sets; the caller logs why.
  const fresh = await keys.reload();
  if (rules !== undefined) policy.replace(rules);
  logger.info("surrogate.reloaded", {
    signing: fresh.signer?.kid,
    verifying: [...fresh.verifiers.keys()].join(","),
    encryption: fresh.encrypter.kid,
    policy_rules: rules?.length,
    policy_generation: policy.generation,
  });
}

interface Parts {
  agent: AgentServer;
  web: WebApp | undefined;
  store: RendezvousStore | undefined;
  access: Access;
  keys: KeySetsProvider;
  drainMs: number;
}

/** Both ports stop accepting at once; each waits for its requests in flight, up to `drainMs`. */
async function stop(parts: Parts): Promise<void> {
  await Promise.all([parts.agent.close(parts.drainMs), parts.web && drainWeb(parts.web, parts.drainMs)]);
  await parts.store?.close();
  parts.access.revocations.close();
  await parts.access.store.close();
  parts.keys.close();
}

async function drainWeb(web: WebApp, drainMs: number): Promise<void> {
  const server = web.server;
  if (server === null) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), drainMs);
  });
  // Bun's stop(false) closes the listener and resolves once open requests are answered.
  const outcome = await Promise.race([server.stop(false), deadline]);
  clearTimeout(timer);
  if (outcome === "late") await server.stop(true);
}

async function readAgentTls(config: Config) {
  return {
    certPem: await readPem(config.agent.tlsCert, "agent.tls_cert"),
    keyPem: await readPem(config.agent.tlsKey, "agent.tls_key"),
    clientCaPem: await readPem(config.agent.clientCa, "agent.client_ca"),
  };
}

async function webTls(config: Config) {
  const { tlsCert, tlsKey } = config.web;
  if (tlsCert === undefined || tlsKey === undefined) return {};
  return { tls: { cert: await readPem(tlsCert, "web.tls_cert"), key: await readPem(tlsKey, "web.tls_key") } };
}

const MAX_PEM_BYTES = 1024 * 1024;

async function readPem(path: string, key: string): Promise<string> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError(key, `${path} does not exist`);
  if (file.size > MAX_PEM_BYTES) throw new ConfigError(key, `${path} is larger than 1 MiB`);
  const text = await file.text();
  if (!text.includes("-----BEGIN ")) throw new ConfigError(key, `${path} is not PEM`);
  return text;
}

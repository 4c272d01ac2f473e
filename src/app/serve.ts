import { type AgentServer, startAgentServer } from "../agent-port/server.ts";
import { resolveProviders } from "../broker/providers/registry.ts";
import { openAccessStore, openStore } from "../broker/rendezvous/open.ts";
import { startRevocationSync } from "../broker/rendezvous/revocation-sync.ts";
import type { RendezvousStore } from "../broker/rendezvous/store.ts";
import { PolicyGate } from "../core/access/policy-gate.ts";
import { listenError } from "../core/config/listen.ts";
import type { Config, Env } from "../core/config/types.ts";
import { ConfigError } from "../core/errors.ts";
import { isJwksSource } from "../core/keys/remote-jwks.ts";
import type { Logger } from "../ops/log/logger.ts";
import { type Access, type App, createApp } from "./app.ts";
import { withKidRefresh } from "./kid-refresh.ts";
import { createKeySetsProvider, type KeySetsProvider } from "./remote-keys.ts";
import { type Role, servesBroker } from "./role.ts";
import { readAgentTls, readCertificates, readWebTls, type WebTls } from "./tls-material.ts";
import { watchTrust } from "./trust-files.ts";

export interface ServeOptions {
  env: Env;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  /** Default `all`. */
  role?: Role;
  /** Longest wait for requests in flight at stop() before their connections are cut (default 30 s). */
  drainMs?: number;
  /** SO_REUSEPORT on both ports, for `--workers` (src/app/workers.ts). */
  reusePort?: boolean;
  /** Re-reads the configuration file on reload, for `[[policy]]`; absent, the policy stays as started. */
  reloadConfig?: () => Promise<Config>;
}

export interface RunningSurrogate {
  /** Undefined for the `proxy` role, which has no web port. */
  webPort: number | undefined;
  agentPort: number;
  /** Re-reads `[[policy]]`, the key sets and the agent port's certificate, key and trust bundles. */
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
  const webTls = servesBroker(role) ? await readWebTls(config) : undefined;
  const upstreamCa = config.agent.upstreamCa
    ? await readCertificates(config.agent.upstreamCa, "agent.upstream_ca")
    : undefined;
  // A proxy only routes and injects: no IdP is contacted, so it starts even when they are down.
  const providers = await resolveProviders(config, {
    fetch: fetchImpl,
    now,
    routingOnly: !servesBroker(role),
  });
  // Tampered records are audited through the app's observed logger (counted, shown on the admin
  // overview); the store is opened before the app exists, so it reaches that logger late.
  let audited: Pick<Logger, "audit"> = logger;
  const sealing = { keys: keys.current, logger: { audit: (...line: AuditLine) => audited.audit(...line) } };
  const store = servesBroker(role)
    ? await openStore(config.rendezvous.url, config.rendezvous, sealing)
    : undefined;
  const access = await openAccess(config, role, { now, logger, sealing });
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
  audited = app.logger;
  const agent: AgentServer = await startAgentServer({
    host: config.agent.listen.host,
    port: config.agent.listen.port,
    ...tls,
    handler: app.agent,
    limits: config.agent,
    logger: app.logger,
    countRefusal: app.countRefusal,
    now,
    reusePort: options.reusePort === true,
  }).catch((error: unknown) => {
    throw error instanceof ConfigError ? error : listenError(error, "agent.listen", config.agent.listen);
  });
  agentListening = true;
  const web =
    app.web === undefined
      ? undefined
      : await listenWeb(app.web, config, { agent, tls: webTls, reusePort: options.reusePort === true });
  logger.info("surrogate.listening", { role, web: web?.port, agent: agent.port, rendezvous: store?.backend });
  const unwatch = watchTrust(config.agent, () => {
    reloadAgentTls(config, agent, logger).catch((error) => {
      logger.error("surrogate.trust_reload_failed", {
        error: error instanceof Error ? error.message : "unknown",
      });
    });
  });
  return {
    webPort: web?.port,
    agentPort: agent.port,
    reload: () => reload({ config, agent, keys, logger, policy, reloadConfig: options.reloadConfig }),
    stop: () => {
      unwatch();
      return stop({ agent, web: app.web, store, access, keys, drainMs: options.drainMs ?? 30_000 });
    },
  };
}

/**
 * Every role reads the revocations, the proxy included (issue #15). A proxy-only instance on
 * `memory:` cannot see a rule made on a broker: it starts (its wrappers still expire), but says so.
 */
async function openAccess(
  config: Config,
  role: Role,
  deps: { now: () => number; logger: Logger; sealing: Parameters<typeof openAccessStore>[1] },
): Promise<Access> {
  const { now, logger } = deps;
  const store = openAccessStore(config.rendezvous.url, deps.sealing);
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
type AuditLine = Parameters<Logger["audit"]>;

interface WebListen {
  agent: AgentServer;
  tls: WebTls | undefined;
  reusePort: boolean;
}

async function listenWeb(web: WebApp, config: Config, options: WebListen) {
  const { host, port } = config.web.listen;
  try {
    // Elysia's own listen, so route handlers see the Bun server (peer address for guess limiting).
    web.listen({
      hostname: host,
      port,
      reusePort: options.reusePort,
      ...(options.tls ? { tls: options.tls } : {}),
    });
  } catch (cause) {
    await options.agent.close();
    throw listenError(cause, "web.listen", config.web.listen);
  }
  if (web.server === null) throw new ConfigError("web.listen", "the web port did not start");
  return { port: web.server.port ?? port };
}

/** The agent port's certificate, key and bundles, read again for connections accepted from now on. */
async function reloadAgentTls(config: Config, agent: AgentServer, logger: Logger) {
  const material = await readAgentTls(config);
  agent.reloadTls(material.certPem, material.keyPem, material.trust);
  logger.info("surrogate.trust_reloaded", {});
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
  await reloadAgentTls(parts.config, agent, logger);
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

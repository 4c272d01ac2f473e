import type { AgentHandler } from "../agent-port/http1/types.ts";
import { routeAgentRequests } from "../agent-port/router.ts";
import { oauthError } from "../broker/oauth-response.ts";
import { createMemoryAccessStore } from "../broker/rendezvous/access-memory.ts";
import type { AccessStore } from "../broker/rendezvous/access-store.ts";
import { type RevocationSync, startRevocationSync } from "../broker/rendezvous/revocation-sync.ts";
import type { RendezvousStore } from "../broker/rendezvous/store.ts";
import { PolicyGate } from "../core/access/policy-gate.ts";
import type { Config } from "../core/config/types.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import type { Logger } from "../ops/log/logger.ts";
import { Observer } from "../ops/metrics/observer.ts";
import { createProxyHandler } from "../proxy/handler.ts";
import { problem } from "../proxy/problem.ts";
import type { WebPort } from "../web-port/port.ts";
import type { Role } from "./role.ts";

/** Everything from outside the process, passed in so tests inject clocks, fetch and stores. */
export interface AppDependencies {
  providers: ReadonlyMap<string, ResolvedProvider>;
  /** The `[[policy]]` gate SIGHUP replaces; default: one over `config.policy`. */
  policy?: PolicyGate;
  /** Revocations and recent logins, shared by every instance; default: this process's memory. */
  access?: Access;
  /** Required unless the role is `proxy` (the proxy needs no rendezvous). */
  store?: RendezvousStore;
  /** The current key sets; a function so a reload takes effect without rebuilding anything. */
  keys: () => KeySets;
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
  /** PEM of the extra CA for private upstreams (`agent.upstream_ca`), already read. */
  upstreamCa?: string;
  /** Default `all`. */
  role?: Role;
  /** Wraps the proxy handler (e.g. to refresh remote verification keys first). */
  proxyEntrance?: (proxy: AgentHandler) => AgentHandler;
  /** Shown on the admin overview (default: the host name and process id). */
  instance?: string;
  /** Readiness of the agent port for /readyz; absent means not checked. */
  agentListening?: () => boolean;
}

export interface Access {
  store: AccessStore;
  revocations: RevocationSync;
}

export interface App {
  /** The web port: consent, callback, JWKS, health, admin, metrics. Absent for the `proxy` role. */
  web?: WebPort;
  /** The agent port behind mTLS: `/v1/` broker API, every other path the proxy. */
  agent: AgentHandler;
  /** The observed logger: give it to the agent server too, so its auth failures are counted. */
  logger: Logger;
  /** Give it to the agent server too: counts its refused connections for /metrics. */
  countRefusal: (reason: string) => void;
}

/**
 * Wires the broker, the proxy and the web pages over one set of dependencies. No I/O happens here
 * beyond loading code: the broker and the web port (Elysia, templates, admin) are imported only by
 * roles that serve them, so a proxy-only process does not carry them (docs/benchmarks.md, memory).
 */
export async function createApp(config: Config, appDeps: AppDependencies): Promise<App> {
  // Metrics and the admin's live views are derived from the log stream (src/ops/metrics/observer.ts).
  const observer = new Observer({
    providers: appDeps.providers,
    now: appDeps.now,
    ...(config.audit && { audit: config.audit }),
  });
  const policy = appDeps.policy ?? new PolicyGate(config.policy);
  const logger = observer.observe(appDeps.logger);
  const access = appDeps.access ?? (await memoryAccess(appDeps.now, logger));
  const deps = { ...appDeps, policy, access, logger };
  const countRefusal = (reason: string) => observer.refusedConnections.inc({ reason });
  const role = deps.role ?? "all";
  const proxy = role === "broker" ? notHereProxy : (deps.proxyEntrance ?? same)(proxyOf(config, deps));
  if (role === "proxy")
    return { agent: routeAgentRequests({ broker: notHereBroker, proxy }), logger: deps.logger, countRefusal };
  const { providers, store, keys, now } = deps;
  if (store === undefined) throw new Error("createApp: the broker needs a rendezvous store");
  const [{ createAgentApi }, { createWebPort }] = await Promise.all([
    import("../broker/agent-api.ts"),
    import("../web-port/port.ts"),
  ]);
  const revocations = access.revocations.list;
  const logins = access.store;
  const broker = createAgentApi({ config, policy, revocations, logins, providers, store, keys, now, logger });
  return {
    web: createWebPort(config, { ...deps, store }, observer),
    agent: routeAgentRequests({ broker, proxy }),
    logger,
    countRefusal,
  };
}

function proxyOf(
  config: Config,
  deps: AppDependencies & { policy: PolicyGate; access: Access },
): AgentHandler {
  return createProxyHandler({
    providers: deps.providers,
    policy: deps.policy,
    revocations: deps.access.revocations.list,
    keys: deps.keys,
    issuer: config.issuer,
    fetch: deps.fetch,
    now: deps.now,
    logger: deps.logger,
    upstreamTimeout: config.agent.upstreamTimeout,
    scrubResponses: config.agent.scrubResponses ?? true,
    ...(deps.upstreamCa === undefined ? {} : { upstreamCa: deps.upstreamCa }),
  });
}

const same = (handler: AgentHandler) => handler;

async function memoryAccess(now: () => number, logger: Logger): Promise<Access> {
  const store = createMemoryAccessStore();
  return { store, revocations: await startRevocationSync(store, { now, logger }) };
}

/** A proxy request reaching a broker-only instance: a deployment mistake, said plainly. */
const notHereProxy: AgentHandler = async () =>
  problem(404, "not_found", "this instance runs the broker role: send proxied requests to a proxy instance");

const notHereBroker: AgentHandler = async () =>
  oauthError("invalid_request", "this instance runs the proxy role: the agent API is on the broker", {
    status: 404,
  });

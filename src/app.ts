import { routeAgentRequests } from "./agent/router.ts";
import type { AgentHandler } from "./agent/types.ts";
import { createAgentApi } from "./broker/agent-api.ts";
import type { Config } from "./config/types.ts";
import type { KeySets } from "./keys/types.ts";
import type { Logger } from "./log/logger.ts";
import type { ResolvedProvider } from "./providers/types.ts";
import { createProxyHandler } from "./proxy/handler.ts";
import type { RendezvousStore } from "./rendezvous/store.ts";
import { createWebApp } from "./web/app.ts";

/** Everything from outside the process, passed in so tests inject clocks, fetch and stores. */
export interface AppDependencies {
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  /** The current key sets; a function so a reload takes effect without rebuilding anything. */
  keys: () => KeySets;
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
  /** PEM of the extra CA for private upstreams (`agent.upstream_ca`), already read. */
  upstreamCa?: string;
}

export interface App {
  /** The web port: consent, callback, JWKS, health. */
  web: ReturnType<typeof createWebApp>;
  /** The agent port behind mTLS: `/v1/` broker API, every other path the proxy. */
  agent: AgentHandler;
}

/** Wires the broker, the proxy and the web pages over one set of dependencies. No I/O happens here. */
export function createApp(config: Config, deps: AppDependencies): App {
  const { providers, store, keys, now, logger } = deps;
  const broker = createAgentApi({ config, providers, store, keys, now, logger });
  const proxy = createProxyHandler({
    providers,
    keys,
    issuer: config.issuer,
    fetch: deps.fetch,
    now,
    logger,
    upstreamTimeout: config.agent.upstreamTimeout,
    ...(deps.upstreamCa === undefined ? {} : { upstreamCa: deps.upstreamCa }),
  });
  return {
    web: createWebApp({ config, providers, store, keys, now, logger }),
    agent: routeAgentRequests({ broker, proxy }),
  };
}

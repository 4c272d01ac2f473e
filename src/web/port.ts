import { hostname } from "node:os";
import { createAdminApp } from "../admin/app.ts";
import type { AppDependencies } from "../app.ts";
import type { Config } from "../config/types.ts";
import type { Observer } from "../metrics/observer.ts";
import type { RendezvousStore } from "../rendezvous/store.ts";
import { createWebApp } from "./app.ts";

export type WebPort = ReturnType<typeof createWebPort>;

/** Consent pages plus the operator view (src/admin: /admin, /readyz, /metrics) on one Elysia app. */
export function createWebPort(
  config: Config,
  deps: AppDependencies & { store: RendezvousStore },
  observer: Observer,
) {
  const { providers, store, keys, now, logger } = deps;
  const admin = createAdminApp({
    config,
    providers,
    store,
    keys,
    fetch: deps.fetch,
    now,
    logger,
    observer,
    instance: deps.instance ?? `${hostname()}:${process.pid}`,
    startedAt: now(),
    ...(deps.agentListening && { agentListening: deps.agentListening }),
  });
  return createWebApp({ config, providers, store, keys, now, logger }).use(admin);
}

import { hostname } from "node:os";
import type { AccessStore } from "../broker/rendezvous/access-store.ts";
import type { RevocationSync } from "../broker/rendezvous/revocation-sync.ts";
import type { RendezvousStore } from "../broker/rendezvous/store.ts";
import type { Config } from "../core/config/types.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { Observer } from "../ops/metrics/observer.ts";
import { createAdminApi } from "./admin/api.ts";
import { createAdminApp } from "./admin/app.ts";
import { createWebApp } from "./consent/app.ts";

export type WebPort = ReturnType<typeof createWebPort>;

/** What the web port needs from the process: the composition root (src/app) passes it in. */
export interface WebPortDeps {
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  keys: () => KeySets;
  fetch: typeof fetch;
  now: () => number;
  logger: Logger;
  instance?: string;
  agentListening?: () => boolean;
  /** Revocations and recent logins (issue #15). */
  access: { store: AccessStore; revocations: RevocationSync };
}

/** Consent pages plus the operator view (src/admin: /admin, /readyz, /metrics) on one Elysia app. */
export function createWebPort(config: Config, deps: WebPortDeps, observer: Observer) {
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
  const { revocations, store: logins } = deps.access;
  const api = createAdminApi({
    apiToken: config.admin?.apiToken,
    revocations,
    logins,
    providers,
    keys,
    now,
    logger,
  });
  return createWebApp({ config, providers, store, keys, now, logger, logins }).use(admin).use(api);
}

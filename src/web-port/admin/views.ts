/** Data for the admin pages, gathered from the dependencies (never from request input). */
import type { OverviewData } from "../../../ui/admin/overview.tsx";
import type { TrafficData } from "../../../ui/admin/traffic.tsx";
import type { ListenAddress } from "../../core/config/types.ts";
import { COMMIT, VERSION } from "../../core/version.ts";
import type { AdminContext } from "./deps.ts";
import type { GrantView } from "./grant-history.ts";

/** The grants page shows at most this many live grants (the store bounds its scan too). */
const GRANTS_SHOWN = 200;
const EVENTS_SHOWN = 30;

export async function overviewData(context: AdminContext): Promise<OverviewData> {
  const { deps } = context;
  const now = deps.now();
  const { store, config } = deps;
  const up = await store.ping().catch(() => false);
  const size = up ? await store.size(now).catch(() => undefined) : undefined;
  return {
    now,
    version: VERSION,
    commit: COMMIT,
    instance: deps.instance,
    startedAt: deps.startedAt,
    web: `${address(config.web.listen)} (${config.issuer})`,
    agent: address(config.agent.listen),
    keys: context.keyAges.list(deps.keys(), now),
    idps: context.idp.statuses(),
    rendezvous: { backend: store.backend, size, up },
  };
}

function address(listen: ListenAddress): string {
  return listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

export async function grantsData(context: AdminContext): Promise<GrantView[]> {
  const now = context.deps.now();
  const live = await context.deps.store.list(GRANTS_SHOWN, now);
  return context.history.merge(live, now);
}

export function trafficData(context: AdminContext): TrafficData {
  const { observer, now } = context.deps;
  const { total, rows } = observer.traffic.summary(now());
  return { total, rows, cacheHitRate: observer.cacheHitRate(), events: observer.recent.list(EVENTS_SHOWN) };
}

/** Data for the admin pages, gathered from the dependencies (never from request input). */

import type { GrantView } from "../../../ui/admin/grants.tsx";
import type { OverviewData } from "../../../ui/admin/overview.tsx";
import type { TrafficData } from "../../../ui/admin/traffic.tsx";
import { COMMIT, VERSION } from "../../core/version.ts";
import type { AdminContext } from "./context.ts";

/** The grants page shows at most this many live grants (the store bounds its scan too). */
const GRANTS_SHOWN = 200;
const EVENTS_SHOWN = 30;

export async function overviewData(context: AdminContext): Promise<OverviewData> {
  const now = context.now();
  const { store } = context;
  const up = await store.ping().catch(() => false);
  const size = up ? await store.size(now).catch(() => undefined) : undefined;
  return {
    now,
    version: VERSION,
    commit: COMMIT,
    instance: context.instance,
    startedAt: context.startedAt,
    web: context.listening.web,
    agent: context.listening.agent,
    keys: context.keyAges.list(context.keys(), now),
    idps: context.idp.statuses(),
    rendezvous: { backend: store.backend, size, up },
  };
}

export async function grantsData(context: AdminContext): Promise<GrantView[]> {
  const now = context.now();
  const live = await context.store.list(GRANTS_SHOWN, now);
  return context.history.merge(live, now);
}

export function trafficData(context: AdminContext): TrafficData {
  const { observer, now } = context;
  const { total, rows } = observer.traffic.summary(now());
  return { total, rows, cacheHitRate: observer.cacheHitRate(), events: observer.recent.list(EVENTS_SHOWN) };
}

/**
 * `/metrics` in the Prometheus text exposition format (0.0.4): the observer's counters, the
 * rendezvous size read at scrape time, the build, and process metrics. Names are either the
 * standard `process_*` ones (as the Prometheus client libraries export them, so stock dashboards
 * work) or `surrogate_*`; a value that cannot be read is left out, never reported as a number.
 */
import { COMMIT, VERSION } from "../../core/version.ts";
import type { Observer } from "./observer.ts";
import { gaugeLines, type Labels } from "./registry.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The part of the rendezvous store a scrape reads (the broker's store satisfies it). */
export interface StoreGauge {
  readonly backend: string;
  ping(): Promise<boolean>;
  size(now: number): Promise<number>;
}

export interface ExpositionSources {
  observer: Observer;
  store: StoreGauge;
  /** Epoch ms. */
  now: () => number;
  /** Epoch ms when the process started serving. */
  startedAt: number;
}

export async function renderMetrics(sources: ExpositionSources): Promise<string> {
  const { observer } = sources;
  const lines = [
    ...observer.grants.render(),
    ...observer.minted.render(),
    ...observer.refreshed.render(),
    ...observer.proxied.render(),
    ...observer.latency.render(),
    ...observer.cache.render(),
    ...observer.authFailures.render(),
    ...observer.refusedConnections.render(),
    ...gaugeLines("surrogate_rendezvous_up", "1 when the rendezvous backend answers.", [
      [{ backend: sources.store.backend }, (await safePing(sources.store)) ? 1 : 0],
    ]),
    ...gaugeLines(
      "surrogate_rendezvous_grants",
      "Live grants in the rendezvous store.",
      await sizeSample(sources),
    ),
    ...gaugeLines("surrogate_build_info", "Always 1; the labels say which build is running.", [
      [{ version: VERSION, commit: COMMIT, bun: Bun.version }, 1],
    ]),
    ...processLines(sources),
  ];
  return `${lines.join("\n")}\n`;
}

function processLines(sources: ExpositionSources): string[] {
  const memory = process.memoryUsage();
  const usage = process.cpuUsage();
  return [
    ...gaugeLines("process_resident_memory_bytes", "Resident set size.", [[{}, memory.rss]]),
    ...gaugeLines("process_start_time_seconds", "Start time, seconds since the epoch.", [
      [{}, Math.floor(sources.startedAt / 1000)],
    ]),
    ...gaugeLines(
      "process_cpu_seconds_total",
      "User and system CPU time.",
      [[{}, (usage.user + usage.system) / 1e6]],
      "counter",
    ),
    ...gaugeLines("surrogate_heap_used_bytes", "JavaScript heap in use.", [[{}, memory.heapUsed]]),
  ];
}

/** A scrape must not fail because the backend is down: that is what `surrogate_rendezvous_up` says. */
async function safePing(store: StoreGauge): Promise<boolean> {
  try {
    return await store.ping();
  } catch {
    return false;
  }
}

/** No sample when the store cannot say: an absent series, not a number that looks like a size. */
async function sizeSample(sources: ExpositionSources): Promise<Array<[Labels, number]>> {
  try {
    return [[{ backend: sources.store.backend }, await sources.store.size(sources.now())]];
  } catch {
    return [];
  }
}

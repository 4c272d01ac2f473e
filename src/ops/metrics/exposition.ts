/**
 * `/metrics` in the Prometheus text exposition format (0.0.4): the observer's counters, the
 * rendezvous size read at scrape time, and process metrics under their conventional names.
 */
import type { Observer } from "./observer.ts";
import { gaugeLines } from "./registry.ts";

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
    ...gaugeLines("surrogate_rendezvous_grants", "Live grants in the rendezvous store.", [
      [{ backend: sources.store.backend }, await safeSize(sources.store, sources.now())],
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
    ...gaugeLines("process_heap_bytes", "JavaScript heap in use.", [[{}, memory.heapUsed]]),
    ...gaugeLines("process_start_time_seconds", "Start time, seconds since the epoch.", [
      [{}, Math.floor(sources.startedAt / 1000)],
    ]),
    ...gaugeLines("process_uptime_seconds", "Seconds since start.", [
      [{}, Math.max(0, (sources.now() - sources.startedAt) / 1000)],
    ]),
    ...gaugeLines(
      "process_cpu_seconds_total",
      "User and system CPU time.",
      [[{}, (usage.user + usage.system) / 1e6]],
      "counter",
    ),
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

async function safeSize(store: StoreGauge, now: number): Promise<number> {
  try {
    return await store.size(now);
  } catch {
    return -1;
  }
}

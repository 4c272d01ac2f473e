/**
 * The last minute of proxied requests, for the admin traffic page: requests per second and p50/p99
 * latency by provider, upstream host and status class. A fixed-size ring: under heavy load the
 * window holds the most recent `capacity` requests, so memory stays bounded whatever the rate.
 */

export interface TrafficSample {
  /** Epoch ms. */
  at: number;
  provider: string;
  host: string;
  statusClass: string;
  durationMs: number;
}

export interface TrafficRow {
  provider: string;
  host: string;
  statusClass: string;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export const TRAFFIC_WINDOW_MS = 60_000;
const DEFAULT_CAPACITY = 20_000;
/** Distinct (provider, host, status class) groups kept; the labels are bounded sets already. */
const MAX_GROUPS = 4096;

/**
 * The ring holds numbers only (time, duration, group index): one object per proxied request, kept
 * for a minute, would be 20,000 live objects for the collector to trace on a busy proxy.
 */
export class TrafficWindow {
  readonly #at: Float64Array;
  readonly #duration: Float64Array;
  /** Index into #groups; -1 for an empty slot. */
  readonly #group: Int32Array;
  #groups: Array<Omit<TrafficSample, "at" | "durationMs">> = [];
  /** Provider, then host, then status class: found by the label strings, with no key built per request. */
  #groupIndex = new Map<string, Map<string, Map<string, number>>>();
  #next = 0;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#at = new Float64Array(capacity);
    this.#duration = new Float64Array(capacity);
    this.#group = new Int32Array(capacity).fill(-1);
  }

  /** One proxied request; no object is kept per request. */
  record(at: number, provider: string, host: string, statusClass: string, durationMs: number): void {
    const slot = this.#next;
    this.#at[slot] = at;
    this.#duration[slot] = durationMs;
    this.#group[slot] = this.#groupOf(provider, host, statusClass);
    this.#next = (slot + 1) % this.#at.length;
  }

  /** Samples of the last minute before `now`, oldest first. */
  recent(now: number): TrafficSample[] {
    const samples: TrafficSample[] = [];
    const capacity = this.#at.length;
    for (let step = 0; step < capacity; step += 1) {
      const slot = (this.#next + step) % capacity;
      const group = this.#groups[this.#group[slot] as number];
      const at = this.#at[slot] as number;
      if (group !== undefined && now - at < TRAFFIC_WINDOW_MS)
        samples.push({ at, durationMs: this.#duration[slot] as number, ...group });
    }
    return samples;
  }

  /** One row per (provider, host, status class), busiest first, plus the overall row first. */
  summary(now: number): { total: TrafficRow; rows: TrafficRow[] } {
    const samples = this.recent(now);
    const groups = new Map<string, TrafficSample[]>();
    for (const sample of samples) {
      const key = `${sample.provider}\0${sample.host}\0${sample.statusClass}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [sample]);
      else group.push(sample);
    }
    const rows = [...groups.values()].map((group) => row(group, group[0] ?? sample0()));
    rows.sort((a, b) => b.count - a.count);
    return { total: row(samples, { ...sample0(), provider: "all", host: "all", statusClass: "all" }), rows };
  }

  #groupOf(provider: string, host: string, statusClass: string): number {
    const index = this.#groupIndex.get(provider)?.get(host)?.get(statusClass);
    if (index !== undefined) return index;
    return this.#newGroup(provider, host, statusClass);
  }

  #newGroup(provider: string, host: string, statusClass: string): number {
    if (this.#groups.length >= MAX_GROUPS) {
      // Unreachable with bounded labels; if it ever happens, the window restarts rather than grows.
      this.#groups = [];
      this.#groupIndex = new Map();
      this.#group.fill(-1);
    }
    const index = this.#groups.length;
    this.#groups.push({ provider, host, statusClass });
    let hosts = this.#groupIndex.get(provider);
    if (hosts === undefined) {
      hosts = new Map();
      this.#groupIndex.set(provider, hosts);
    }
    let classes = hosts.get(host);
    if (classes === undefined) {
      classes = new Map();
      hosts.set(host, classes);
    }
    classes.set(statusClass, index);
    return index;
  }
}

function sample0(): TrafficSample {
  return { at: 0, provider: "", host: "", statusClass: "", durationMs: 0 };
}

function row(samples: readonly TrafficSample[], like: TrafficSample): TrafficRow {
  const durations = samples.map((sample) => sample.durationMs).sort((a, b) => a - b);
  return {
    provider: like.provider,
    host: like.host,
    statusClass: like.statusClass,
    count: samples.length,
    perSecond: samples.length / (TRAFFIC_WINDOW_MS / 1000),
    p50Ms: percentile(durations, 0.5),
    p99Ms: percentile(durations, 0.99),
  };
}

/** Nearest-rank percentile of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] ?? 0;
}

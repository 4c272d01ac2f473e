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

export class TrafficWindow {
  readonly #ring: (TrafficSample | undefined)[];
  #next = 0;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#ring = new Array<TrafficSample | undefined>(capacity).fill(undefined);
  }

  add(sample: TrafficSample): void {
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.#ring.length;
  }

  /** Samples of the last minute before `now`. */
  recent(now: number): TrafficSample[] {
    return this.#ring.filter(
      (sample): sample is TrafficSample => sample !== undefined && now - sample.at < TRAFFIC_WINDOW_MS,
    );
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

/**
 * The load generator: `concurrency` workers, each sending one request after another on its own
 * keep-alive connection (Bun's fetch pool keeps at most one connection per in-flight request),
 * presenting the client certificate. Latencies are recorded per request for percentiles.
 */

export interface LoadTarget {
  url: string;
  init: RequestInit;
  /** The body length every answer must have; anything else counts as an error. */
  expectBytes: number;
}

export interface Sample {
  requests: number;
  errors: number;
  seconds: number;
  /** Milliseconds, unsorted. */
  latencies: Float64Array;
}

/** Runs `concurrency` sequential workers for `seconds`; `record: false` is a warm-up. */
export async function drive(target: LoadTarget, concurrency: number, seconds: number): Promise<Sample> {
  let latencies: Float64Array = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const start = performance.now();
      try {
        const response = await fetch(target.url, target.init);
        const body = await response.arrayBuffer();
        if (response.status !== 200 || body.byteLength !== target.expectBytes) errors += 1;
      } catch {
        errors += 1;
      }
      if (count === latencies.length) latencies = grow(latencies);
      latencies[count++] = performance.now() - start;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    requests: count,
    errors,
    seconds: (performance.now() - started) / 1000,
    latencies: latencies.subarray(0, count),
  };
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** Sorted copy of all samples' latencies, for percentiles. */
export function merged(samples: Sample[]): Float64Array {
  const total = samples.reduce((sum, s) => sum + s.latencies.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const sample of samples) {
    all.set(sample.latencies, offset);
    offset += sample.latencies.length;
  }
  return all.sort();
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}

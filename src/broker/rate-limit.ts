/**
 * Per-workload rate limit on grant creation (issue #9). The rendezvous caps bound how many grants
 * are pending; this bounds how fast a workload can churn through them (each creation writes to the
 * store and an audit line, and puts a user code into circulation). A token bucket allows a burst of
 * `perMinute` and then one creation every `60 / perMinute` seconds.
 *
 * In-process by design: several instances each allow the rate, so the effective limit is N times
 * it; the store's pending caps stay global. The map of buckets is bounded: beyond `maxKeys`
 * workloads the least recently seen bucket is dropped, which at worst gives that workload a fresh
 * burst. A workload needs a certificate from the trusted CA to get a bucket at all.
 */

export interface RateLimitOptions {
  /** Sustained rate and burst size. */
  perMinute: number;
  /** Buckets kept at most (default 10,000). */
  maxKeys?: number;
  /** Epoch milliseconds. */
  now: () => number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfter: number };

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

const DEFAULT_MAX_KEYS = 10_000;

/** `[rendezvous] create_rate` when unset: a person logs in a few times an hour, not ten times a minute. */
export const DEFAULT_CREATE_RATE = 10;

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  readonly #capacity: number;
  readonly #maxKeys: number;

  constructor(private readonly options: RateLimitOptions) {
    this.#capacity = options.perMinute;
    this.#perMs = options.perMinute / 60_000;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Takes one token for `key`; when none is left, says in whole seconds when one will be. */
  take(key: string): RateDecision {
    const now = this.options.now();
    const bucket = this.#refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)) };
  }

  /** Buckets currently held (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, now: number): Bucket {
    const known = this.#buckets.get(key);
    // Re-inserted on every use, so the Map's order is least recently seen first.
    this.#buckets.delete(key);
    const bucket = known ?? { tokens: this.#capacity, at: now };
    // A clock that went backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + elapsed * this.#perMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
    return bucket;
  }
}

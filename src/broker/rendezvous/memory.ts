/**
 * In-process rendezvous store (`memory:`): one instance only. Records are structured-cloned on the
 * way in and out so callers see the same copy semantics as with Redis.
 */

import { duplicateGrant, expiredOnCreate, holdsCapacity, isLive, pollOutcome, rateLimited } from "./rules.ts";
import type { GrantRecord, GrantStatus, PollOutcome, RendezvousStore, StoreLimits } from "./store.ts";

/** Records examined per create by the sweep: expired grants go without a timer, create stays O(1). */
const SWEEP_STEP = 32;

interface Entry {
  grant: GrantRecord;
  result?: string;
  lastPoll?: number;
}

export function createMemoryStore(limits: StoreLimits): RendezvousStore {
  return new MemoryStore(limits);
}

class MemoryStore implements RendezvousStore {
  readonly backend = "memory";
  readonly #limits: StoreLimits;
  readonly #entries = new Map<string, Entry>();
  readonly #byUserCode = new Map<string, string>();
  readonly #byDeviceKey = new Map<string, string>();
  /** Ids of grants holding capacity (pending/approved) per workload; expired ones pruned lazily. */
  readonly #holding = new Map<string, Set<string>>();
  #holdingTotal = 0;
  #cursor: Iterator<string> = this.#entries.keys();

  constructor(limits: StoreLimits) {
    this.#limits = { ...limits };
  }

  async create(grant: GrantRecord, now: number): Promise<void> {
    if (!isLive(grant, now)) throw expiredOnCreate();
    this.#sweepStep(now);
    if (this.#live(grant.id, now) || this.#live(this.#byUserCode.get(grant.userCode), now)) {
      throw duplicateGrant();
    }
    if (this.#live(this.#byDeviceKey.get(grant.deviceKey), now)) throw duplicateGrant();
    if (holdsCapacity(grant.status)) this.#checkCaps(grant.workload, now);
    const copy = structuredClone(grant);
    this.#entries.set(copy.id, { grant: copy });
    this.#byUserCode.set(copy.userCode, copy.id);
    this.#byDeviceKey.set(copy.deviceKey, copy.id);
    if (holdsCapacity(copy.status)) this.#hold(copy);
  }

  async getById(id: string, now: number): Promise<GrantRecord | undefined> {
    return copyOf(this.#live(id, now));
  }

  async getByUserCode(userCode: string, now: number): Promise<GrantRecord | undefined> {
    return copyOf(this.#live(this.#byUserCode.get(userCode), now));
  }

  async getByDeviceKey(deviceKey: string, now: number): Promise<GrantRecord | undefined> {
    return copyOf(this.#live(this.#byDeviceKey.get(deviceKey), now));
  }

  async transition(id: string, from: GrantStatus, to: GrantStatus, now: number): Promise<boolean> {
    const entry = this.#live(id, now);
    if (entry === undefined || entry.grant.status !== from) return false;
    this.#setStatus(entry, to);
    return true;
  }

  async deliver(id: string, result: string, now: number): Promise<boolean> {
    const entry = this.#live(id, now);
    if (entry === undefined || entry.grant.status !== "approved") return false;
    entry.result = result;
    this.#setStatus(entry, "complete");
    return true;
  }

  async take(deviceKey: string, now: number): Promise<string | undefined> {
    const entry = this.#live(this.#byDeviceKey.get(deviceKey), now);
    const result = entry?.result;
    if (entry !== undefined) delete entry.result;
    return result;
  }

  async poll(deviceKey: string, now: number): Promise<PollOutcome> {
    const entry = this.#live(this.#byDeviceKey.get(deviceKey), now);
    if (entry === undefined) return "ok";
    const outcome = pollOutcome(entry.lastPoll, now, entry.grant.interval);
    // Every poll is recorded, the too-fast ones included: a client that ignores slow_down keeps
    // getting it until it really waits `interval` (RFC 8628 §3.5: it must back off, not retry).
    entry.lastPoll = now;
    return outcome;
  }

  async list(limit: number, now: number): Promise<GrantRecord[]> {
    this.#sweepAll(now);
    const grants = [...this.#entries.values()].map((entry) => entry.grant);
    grants.sort((a, b) => b.createdAt - a.createdAt);
    return structuredClone(grants.slice(0, Math.max(0, limit)));
  }

  async size(now: number): Promise<number> {
    this.#sweepAll(now);
    return this.#entries.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#byUserCode.clear();
    this.#byDeviceKey.clear();
    this.#holding.clear();
    this.#holdingTotal = 0;
  }

  /** The live entry for an id; an expired one is dropped on the spot (lazy sweep). */
  #live(id: string | undefined, now: number): Entry | undefined {
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (entry === undefined || isLive(entry.grant, now)) return entry;
    this.#remove(entry.grant);
    return undefined;
  }

  #remove(grant: GrantRecord): void {
    this.#entries.delete(grant.id);
    if (this.#byUserCode.get(grant.userCode) === grant.id) this.#byUserCode.delete(grant.userCode);
    if (this.#byDeviceKey.get(grant.deviceKey) === grant.id) this.#byDeviceKey.delete(grant.deviceKey);
    this.#release(grant);
  }

  /** Round-robin across calls (Map iterators survive inserts and deletes), so every record gets visited. */
  #sweepStep(now: number): void {
    for (let i = 0; i < SWEEP_STEP; i += 1) {
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = this.#entries.keys();
        return;
      }
      this.#live(next.value, now);
    }
  }

  #sweepAll(now: number): void {
    for (const id of this.#entries.keys()) this.#live(id, now);
  }

  #checkCaps(workload: string, now: number): void {
    const own = this.#holding.get(workload);
    if (own !== undefined && own.size >= this.#limits.maxPendingPerWorkload) {
      for (const id of own) this.#live(id, now);
    }
    if ((this.#holding.get(workload)?.size ?? 0) >= this.#limits.maxPendingPerWorkload) {
      throw rateLimited("workload");
    }
    // A full sweep only when at the cap, so an expired grant never blocks a new one.
    if (this.#holdingTotal >= this.#limits.maxPendingTotal) this.#sweepAll(now);
    if (this.#holdingTotal >= this.#limits.maxPendingTotal) throw rateLimited("total");
  }

  #hold(grant: GrantRecord): void {
    const ids = this.#holding.get(grant.workload) ?? new Set<string>();
    if (ids.has(grant.id)) return;
    ids.add(grant.id);
    this.#holding.set(grant.workload, ids);
    this.#holdingTotal += 1;
  }

  #release(grant: GrantRecord): void {
    const ids = this.#holding.get(grant.workload);
    if (!ids?.delete(grant.id)) return;
    this.#holdingTotal -= 1;
    if (ids.size === 0) this.#holding.delete(grant.workload);
  }

  #setStatus(entry: Entry, to: GrantStatus): void {
    entry.grant.status = to;
    if (holdsCapacity(to)) this.#hold(entry.grant);
    else this.#release(entry.grant);
  }
}

function copyOf(entry: Entry | undefined): GrantRecord | undefined {
  return entry === undefined ? undefined : structuredClone(entry.grant);
}

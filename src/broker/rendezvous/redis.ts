/**
 * Redis rendezvous store (`redis://`, `rediss://`): any instance can serve any step of a grant.
 * Every check-then-write runs as one Lua script (see redis-scripts.ts), so the rules of the memory
 * store hold across instances too.
 */
import { decodeGrant, encodeGrant } from "./grant-codec.ts";
import { createRedisLink, type RedisLink } from "./redis-link.ts";
import { CREATE, DELIVER, POLL, READ_INDEXED, TAKE, TRANSITION } from "./redis-scripts.ts";
import { duplicateGrant, expiredOnCreate, holdsCapacity, isLive, pollOutcome, rateLimited } from "./rules.ts";
import type { GrantRecord, GrantStatus, PollOutcome, RendezvousStore, StoreLimits } from "./store.ts";

export interface RedisStoreOptions {
  /** Key prefix; instances sharing a deployment must share it. */
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Bounds for SCAN in list/size: the admin view must not walk an unbounded keyspace. */
const SCAN_COUNT = "200";
const SCAN_ROUNDS = 50;

export function createRedisStore(
  url: string,
  limits: StoreLimits,
  options: RedisStoreOptions = {},
): RendezvousStore {
  const link = createRedisLink(url, {
    connectMs: options.connectTimeoutMs ?? 2_000,
    commandMs: options.commandTimeoutMs ?? 2_000,
  });
  return new RedisStore(link, limits, options.prefix ?? "surrogate:");
}

class RedisStore implements RendezvousStore {
  readonly backend = "redis";
  readonly #link: RedisLink;
  readonly #limits: StoreLimits;
  readonly #prefix: string;

  constructor(link: RedisLink, limits: StoreLimits, prefix: string) {
    this.#link = link;
    this.#limits = { ...limits };
    this.#prefix = prefix;
  }

  async create(grant: GrantRecord, now: number): Promise<void> {
    if (!isLive(grant, now)) throw expiredOnCreate();
    const keys = [
      this.#key("grant", grant.id),
      this.#key("uc", grant.userCode),
      this.#key("dk", grant.deviceKey),
      this.#key("wl", workloadTag(grant.workload)),
      this.#key("active"),
    ];
    const args = [grant.id, encodeGrant(grant), grant.status, String(grant.expiresAt), String(now)];
    args.push(String(this.#limits.maxPendingPerWorkload), String(this.#limits.maxPendingTotal));
    args.push(holdsCapacity(grant.status) ? "1" : "0", this.#prefix, String(grant.interval));
    const outcome = await this.#eval(CREATE, keys, args);
    if (outcome === "duplicate") throw duplicateGrant();
    if (outcome === "workload" || outcome === "total") throw rateLimited(outcome);
  }

  async getById(id: string, now: number): Promise<GrantRecord | undefined> {
    const fields = await this.#link.send("HMGET", [this.#key("grant", id), "json", "status", "exp"]);
    return liveGrant(fields, now);
  }

  async getByUserCode(userCode: string, now: number): Promise<GrantRecord | undefined> {
    return liveGrant(await this.#eval(READ_INDEXED, [this.#key("uc", userCode)], [this.#prefix]), now);
  }

  async getByDeviceKey(deviceKey: string, now: number): Promise<GrantRecord | undefined> {
    return liveGrant(await this.#eval(READ_INDEXED, [this.#key("dk", deviceKey)], [this.#prefix]), now);
  }

  async transition(id: string, from: GrantStatus, to: GrantStatus, now: number): Promise<boolean> {
    const keys = [this.#key("grant", id), this.#key("active")];
    const holds = holdsCapacity(to) ? "1" : "0";
    return (await this.#eval(TRANSITION, keys, [from, to, String(now), id, holds])) === 1;
  }

  async deliver(id: string, result: string, now: number): Promise<boolean> {
    const keys = [this.#key("grant", id), this.#key("result", id), this.#key("active")];
    return (await this.#eval(DELIVER, keys, [result, String(now), id])) === 1;
  }

  async take(deviceKey: string, now: number): Promise<string | undefined> {
    const result = await this.#eval(TAKE, [this.#key("dk", deviceKey)], [String(now), this.#prefix]);
    return typeof result === "string" ? result : undefined;
  }

  async poll(deviceKey: string, now: number): Promise<PollOutcome> {
    // The script records every poll, too-fast ones included: a client that ignores slow_down keeps
    // getting it until it really waits `interval` (RFC 8628 §3.5: it must back off, not retry).
    const reply = await this.#eval(POLL, [this.#key("dk", deviceKey)], [String(now), this.#prefix]);
    if (!Array.isArray(reply)) return "ok";
    const [previous, interval] = reply as unknown[];
    const last = typeof previous === "string" && previous !== "" ? Number(previous) : undefined;
    return pollOutcome(last, now, Number(interval));
  }

  async list(limit: number, now: number): Promise<GrantRecord[]> {
    const grants = await this.#scanLive(now);
    grants.sort((a, b) => b.createdAt - a.createdAt);
    return grants.slice(0, Math.max(0, limit));
  }

  async size(now: number): Promise<number> {
    return (await this.#scanLive(now)).length;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#link.send("PING", [])) === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#link.close();
  }

  #key(kind: string, name?: string): string {
    return name === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${name}`;
  }

  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#link.send("EVAL", [script, String(keys.length), ...keys, ...args]);
  }

  /** Live grants among at most SCAN_ROUNDS × SCAN_COUNT keys: an admin view, not an exact census. */
  async #scanLive(now: number): Promise<GrantRecord[]> {
    const found: GrantRecord[] = [];
    let cursor = "0";
    for (let round = 0; round < SCAN_ROUNDS; round += 1) {
      const reply = await this.#link.send("SCAN", [
        cursor,
        "MATCH",
        `${this.#key("grant")}:*`,
        "COUNT",
        SCAN_COUNT,
      ]);
      const [next, keys] = Array.isArray(reply) ? (reply as unknown[]) : [];
      const batch = Array.isArray(keys) ? keys.filter((key) => typeof key === "string") : [];
      const rows = await Promise.all(
        batch.map((key) => this.#link.send("HMGET", [key, "json", "status", "exp"])),
      );
      for (const row of rows) {
        const grant = liveGrant(row, now);
        if (grant !== undefined) found.push(grant);
      }
      cursor = typeof next === "string" ? next : "0";
      if (cursor === "0") break;
    }
    return found;
  }
}

/** Decodes an HMGET json/status/exp reply; undefined when missing or expired at `now`. */
function liveGrant(reply: unknown, now: number): GrantRecord | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [json, status, exp] = reply as unknown[];
  if (typeof json !== "string" || Number(exp) <= now) return undefined;
  return decodeGrant(json, status);
}

/**
 * Workloads are SPIFFE IDs or certificate subjects chosen by whoever holds a client certificate:
 * hashing bounds the key length and keeps glob characters out of key names.
 */
function workloadTag(workload: string): string {
  return new Bun.CryptoHasher("sha256").update(workload).digest("base64url");
}

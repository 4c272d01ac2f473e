/**
 * Redis rendezvous store (`redis://`, `rediss://`): any instance can serve any step of a grant.
 * Every check-then-write runs as one Lua script (see redis-scripts.ts), so the rules of the memory
 * store hold across instances too. Redis is not trusted with anything but availability: records
 * are sealed and key names hashed (record-seal.ts); a record that does not open, or opens but
 * does not belong where it was found, is absent and reported once (tamper-report.ts).
 */
import type { KeySets } from "../../core/keys/types.ts";
import type { Logger } from "../../ops/log/logger.ts";
import { decodeGrant, encodeGrant } from "./grant-codec.ts";
import { createRecordSealer, type RecordSealer } from "./record-seal.ts";
import { createRedisLink, type RedisLink } from "./redis-link.ts";
import { CREATE, DELIVER, POLL, READ_INDEXED, TAKE, TRANSITION } from "./redis-scripts.ts";
import { duplicateGrant, expiredOnCreate, holdsCapacity, isLive, pollOutcome, rateLimited } from "./rules.ts";
import type { GrantRecord, GrantStatus, PollOutcome, RendezvousStore, StoreLimits } from "./store.ts";
import { createTamperReport, type RecordKind, type TamperReport } from "./tamper-report.ts";

export interface RedisStoreOptions {
  /** The broker's key sets (current at each call, so a reload rotates the seal too). */
  keys: () => KeySets;
  /** Where a tampered record is audited (`rendezvous.tampered`). */
  logger?: Pick<Logger, "audit">;
  /** Key prefix; instances sharing a deployment must share it. */
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Bounds for SCAN in list/size: the admin view must not walk an unbounded keyspace. */
const SCAN_COUNT = "200";
const SCAN_ROUNDS = 50;

/** A grant found, opened and checked, with what a compare-and-set needs. */
interface Located {
  key: string;
  tag: string;
  sealed: string;
  grant: GrantRecord;
}

export function createRedisStore(
  url: string,
  limits: StoreLimits,
  options: RedisStoreOptions,
): RendezvousStore {
  const link = createRedisLink(url, {
    connectMs: options.connectTimeoutMs ?? 2_000,
    commandMs: options.commandTimeoutMs ?? 2_000,
  });
  const report = createTamperReport(options.logger);
  return new RedisStore(
    link,
    limits,
    options.prefix ?? "surrogate:",
    createRecordSealer(options.keys),
    report,
  );
}

class RedisStore implements RendezvousStore {
  readonly backend = "redis";
  readonly #link: RedisLink;
  readonly #limits: StoreLimits;
  readonly #prefix: string;
  readonly #sealer: RecordSealer;
  readonly #tampered: TamperReport;

  constructor(
    link: RedisLink,
    limits: StoreLimits,
    prefix: string,
    sealer: RecordSealer,
    report: TamperReport,
  ) {
    this.#link = link;
    this.#limits = { ...limits };
    this.#prefix = prefix;
    this.#sealer = sealer;
    this.#tampered = report;
  }

  async create(grant: GrantRecord, now: number): Promise<void> {
    if (!isLive(grant, now)) throw expiredOnCreate();
    const [[tag], ucTags, dkTags, [wlTag]] = await Promise.all([
      this.#sealer.tags("grant", grant.id),
      this.#sealer.tags("uc", grant.userCode),
      this.#sealer.tags("dk", grant.deviceKey),
      this.#sealer.tags("wl", grant.workload),
    ]);
    const key = this.#key("grant", tag);
    const [ucKey, dkKey] = [this.#key("uc", ucTags[0]), this.#key("dk", dkTags[0])];
    const older = [
      ...ucTags.slice(1).map((t) => this.#key("uc", t)),
      ...dkTags.slice(1).map((t) => this.#key("dk", t)),
    ];
    const keys = [key, ucKey, dkKey, this.#key("wl", wlTag), this.#key("active")];
    keys.push(this.#key("result", tag), this.#key("poll", tag), ...older);
    const exp = String(grant.expiresAt);
    const args = await Promise.all([
      this.#sealer.seal(key, encodeGrant(grant)),
      this.#sealer.seal(ucKey, key).then((sealed) => `${exp}.${tag}.${sealed}`),
      this.#sealer.seal(dkKey, key).then((sealed) => `${exp}.${tag}.${sealed}`),
    ]);
    args.push(
      exp,
      String(now),
      String(this.#limits.maxPendingPerWorkload),
      String(this.#limits.maxPendingTotal),
    );
    args.push(holdsCapacity(grant.status) ? "1" : "0", tag!);
    const outcome = await this.#eval(CREATE, keys, args);
    if (outcome === "duplicate") throw duplicateGrant();
    if (outcome === "workload" || outcome === "total") throw rateLimited(outcome);
  }

  async getById(id: string, now: number): Promise<GrantRecord | undefined> {
    return (await this.#byId(id, now))?.grant;
  }

  async getByUserCode(userCode: string, now: number): Promise<GrantRecord | undefined> {
    return (await this.#byIndex("uc", userCode, now, (grant) => grant.userCode === userCode))?.grant;
  }

  async getByDeviceKey(deviceKey: string, now: number): Promise<GrantRecord | undefined> {
    return (await this.#byDeviceKey(deviceKey, now))?.grant;
  }

  async transition(id: string, from: GrantStatus, to: GrantStatus, now: number): Promise<boolean> {
    const found = await this.#byId(id, now);
    if (found === undefined || found.grant.status !== from) return false;
    const rec = await this.#sealer.seal(found.key, encodeGrant({ ...found.grant, status: to }));
    const holds = holdsCapacity(to) ? "1" : "0";
    const args = [found.sealed, rec, String(now), found.tag, holds];
    return (await this.#eval(TRANSITION, [found.key, this.#key("active")], args)) === 1;
  }

  async deliver(id: string, result: string, now: number): Promise<boolean> {
    const found = await this.#byId(id, now);
    if (found === undefined || found.grant.status !== "approved") return false;
    const resultKey = this.#key("result", found.tag);
    const [rec, sealedResult] = await Promise.all([
      this.#sealer.seal(found.key, encodeGrant({ ...found.grant, status: "complete" })),
      this.#sealer.seal(resultKey, result),
    ]);
    const keys = [found.key, resultKey, this.#key("active")];
    return (await this.#eval(DELIVER, keys, [found.sealed, rec, sealedResult, String(now), found.tag])) === 1;
  }

  async take(deviceKey: string, now: number): Promise<string | undefined> {
    const found = await this.#byDeviceKey(deviceKey, now);
    if (found === undefined) return undefined;
    const resultKey = this.#key("result", found.tag);
    const sealed = await this.#eval(TAKE, [resultKey, found.key], [String(now)]);
    if (typeof sealed !== "string") return undefined;
    return this.#opened("result", resultKey, await this.#sealer.open(resultKey, sealed));
  }

  async poll(deviceKey: string, now: number): Promise<PollOutcome> {
    const found = await this.#byDeviceKey(deviceKey, now);
    if (found === undefined) return "ok";
    // The script records every poll, too-fast ones included: a client that ignores slow_down keeps
    // getting it until it really waits `interval` (RFC 8628 §3.5: it must back off, not retry).
    const previous = await this.#eval(POLL, [this.#key("poll", found.tag), found.key], [String(now)]);
    const last = typeof previous === "string" && previous !== "" ? Number(previous) : undefined;
    return pollOutcome(last, now, found.grant.interval);
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

  #key(kind: string, tag?: string): string {
    return tag === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${tag}`;
  }

  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#link.send("EVAL", [script, String(keys.length), ...keys, ...args]);
  }

  #byDeviceKey(deviceKey: string, now: number): Promise<Located | undefined> {
    return this.#byIndex("dk", deviceKey, now, (grant) => grant.deviceKey === deviceKey);
  }

  /** The first name that exists, under the current key or an older one (rotation). */
  async #byId(id: string, now: number): Promise<Located | undefined> {
    for (const tag of await this.#sealer.tags("grant", id)) {
      const key = this.#key("grant", tag);
      const sealed = await this.#link.send("HGET", [key, "rec"]);
      if (typeof sealed === "string") return this.#open(key, sealed, now, (grant) => grant.id === id);
    }
    return undefined;
  }

  /**
   * Index entry → grant → checks, in one round trip: the entry names its grant's tag in the clear
   * (a keyed hash, nothing to learn) for the script to follow, and sealed, for us to check that the
   * tag is the one we wrote there; the grant must then name what was looked up.
   */
  async #byIndex(
    kind: "uc" | "dk",
    value: string,
    now: number,
    belongs: (grant: GrantRecord) => boolean,
  ): Promise<Located | undefined> {
    for (const tag of await this.#sealer.tags(kind, value)) {
      const indexKey = this.#key(kind, tag);
      const reply = await this.#eval(READ_INDEXED, [indexKey], [this.#key("grant")]);
      if (!Array.isArray(reply)) continue;
      const [entry, sealed] = reply as unknown[];
      const [, tagged = "", ...rest] = typeof entry === "string" ? entry.split(".") : [];
      const key = this.#key("grant", tagged);
      const named = await this.#sealer.open(indexKey, rest.join("."));
      if (this.#opened(kind, indexKey, named === key ? named : undefined) === undefined) return undefined;
      return typeof sealed === "string" ? this.#open(key, sealed, now, belongs) : undefined;
    }
    return undefined;
  }

  async #open(
    key: string,
    sealed: string,
    now: number,
    belongs: (grant: GrantRecord) => boolean,
  ): Promise<Located | undefined> {
    const json = this.#opened("grant", key, await this.#sealer.open(key, sealed));
    if (json === undefined) return undefined;
    const grant = decodeGrant(json);
    if (!belongs(grant)) {
      this.#tampered.record("grant", key);
      return undefined;
    }
    if (!isLive(grant, now)) return undefined;
    return { key, tag: key.slice(this.#key("grant").length + 1), sealed, grant };
  }

  /** Passes an opened plaintext through; a failed open is reported (once per key) and reads as absent. */
  #opened(kind: RecordKind, key: string, plaintext: string | undefined): string | undefined {
    if (plaintext === undefined) this.#tampered.record(kind, key);
    return plaintext;
  }

  /** Live grants among at most SCAN_ROUNDS × SCAN_COUNT keys: an admin view, not an exact census. */
  async #scanLive(now: number): Promise<GrantRecord[]> {
    const found: GrantRecord[] = [];
    let cursor = "0";
    for (let round = 0; round < SCAN_ROUNDS; round += 1) {
      const pattern = `${this.#key("grant")}:*`;
      const reply = await this.#link.send("SCAN", [cursor, "MATCH", pattern, "COUNT", SCAN_COUNT]);
      const [next, keys] = Array.isArray(reply) ? (reply as unknown[]) : [];
      const batch = Array.isArray(keys) ? keys.filter((key) => typeof key === "string") : [];
      const opened = await Promise.all(
        batch.map(async (key) => {
          const sealed = await this.#link.send("HGET", [key, "rec"]);
          return typeof sealed === "string" ? this.#open(key, sealed, now, () => true) : undefined;
        }),
      );
      for (const located of opened) if (located !== undefined) found.push(located.grant);
      cursor = typeof next === "string" ? next : "0";
      if (cursor === "0") break;
    }
    return found;
  }
}

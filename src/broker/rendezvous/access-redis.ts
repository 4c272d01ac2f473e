/**
 * The access store in Redis, shared by every instance. Layout under the deployment's prefix:
 * `revocations` (hash id → rule), `revocations:version` (counter every instance polls),
 * `login:<sid>` and `login-secret:<sid>` (expiring with the login), `logins` (sorted set of sids by
 * login time, trimmed to the newest MAX_LOGINS).
 */
import type { RevocationRule } from "../../core/access/revocation.ts";
import { decodeLogin, decodeRule } from "./access-codec.ts";
import { tooMany } from "./access-memory.ts";
import { type AccessStore, type LoginRecord, MAX_LOGINS, MAX_RULES } from "./access-store.ts";
import type { RedisStoreOptions } from "./redis.ts";
import { createRedisLink, type RedisLink } from "./redis-link.ts";

/** Cap check, write and version bump in one step, so concurrent adds can neither exceed it nor be missed. */
const ADD_RULE = `
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 'ok'`;

/** KEYS: login, secret, index. ARGV: sid, json, sealed ('' for none), expiresAt, now, max, issuedAt. */
const RECORD_LOGIN = `
local ttl = tonumber(ARGV[4]) - tonumber(ARGV[5])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl) end
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
return 1`;

/** Only for a login still on record, and never outliving it. */
const UPDATE_SECRET = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1`;

export function createRedisAccessStore(url: string, options: RedisStoreOptions = {}): AccessStore {
  const link = createRedisLink(url, {
    connectMs: options.connectTimeoutMs ?? 2_000,
    commandMs: options.commandTimeoutMs ?? 2_000,
  });
  return new RedisAccessStore(link, options.prefix ?? "surrogate:");
}

class RedisAccessStore implements AccessStore {
  readonly backend = "redis";
  readonly #link: RedisLink;
  readonly #prefix: string;

  constructor(link: RedisLink, prefix: string) {
    this.#link = link;
    this.#prefix = prefix;
  }

  async addRevocation(rule: RevocationRule, now: number): Promise<void> {
    await this.#prune(now);
    const keys = [this.#key("revocations"), this.#key("revocations:version")];
    const outcome = await this.#eval(ADD_RULE, keys, [rule.id, JSON.stringify(rule), String(MAX_RULES)]);
    if (outcome === "full") throw tooMany();
  }

  async revocations(now: number): Promise<RevocationRule[]> {
    const reply = await this.#link.send("HVALS", [this.#key("revocations")]);
    const rules = (Array.isArray(reply) ? reply : []).map((json) => decodeRule(String(json)));
    return rules.filter((rule) => rule.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revocationVersion(): Promise<string> {
    const reply = await this.#link.send("GET", [this.#key("revocations:version")]);
    return typeof reply === "string" ? reply : "0";
  }

  async recordLogin(login: LoginRecord, sealed: string | undefined, now: number): Promise<void> {
    const keys = [this.#key("login", login.sid), this.#key("login-secret", login.sid), this.#key("logins")];
    const args = [login.sid, JSON.stringify(login), sealed ?? "", String(login.expiresAt), String(now)];
    await this.#eval(RECORD_LOGIN, keys, [...args, String(MAX_LOGINS), String(login.issuedAt)]);
  }

  async updateLoginSecret(sid: string, sealed: string): Promise<void> {
    await this.#eval(UPDATE_SECRET, [this.#key("login", sid), this.#key("login-secret", sid)], [sealed]);
  }

  async getLogin(sid: string, now: number): Promise<LoginRecord | undefined> {
    const reply = await this.#link.send("GET", [this.#key("login", sid)]);
    if (typeof reply !== "string") return undefined;
    const login = decodeLogin(reply);
    return login.expiresAt > now ? login : undefined;
  }

  async loginSecret(sid: string): Promise<string | undefined> {
    const reply = await this.#link.send("GET", [this.#key("login-secret", sid)]);
    return typeof reply === "string" ? reply : undefined;
  }

  /**
   * Newest first by login time. A sid whose record expired is dropped from the index on the way,
   * so reading pages on until `limit` live logins are found stays bounded by the index's size.
   */
  async logins(limit: number, now: number): Promise<LoginRecord[]> {
    const count = Math.max(0, Math.min(limit, MAX_LOGINS));
    const found: LoginRecord[] = [];
    for (let offset = 0; found.length < count && offset < MAX_LOGINS; ) {
      const reply = await this.#link.send("ZREVRANGE", [
        this.#key("logins"),
        String(offset),
        String(offset + count - 1),
      ]);
      const sids = (Array.isArray(reply) ? reply : []).map(String);
      if (sids.length === 0) break;
      const rows = await this.#link.send(
        "MGET",
        sids.map((sid) => this.#key("login", sid)),
      );
      const gone: string[] = [];
      sids.forEach((sid, at) => {
        const row = Array.isArray(rows) ? rows[at] : undefined;
        const login = typeof row === "string" ? decodeLogin(row) : undefined;
        if (login !== undefined && login.expiresAt > now) found.push(login);
        else if (login === undefined) gone.push(sid);
      });
      if (gone.length > 0) await this.#link.send("ZREM", [this.#key("logins"), ...gone]);
      offset += sids.length - gone.length;
    }
    return found.slice(0, count);
  }

  async close(): Promise<void> {
    this.#link.close();
  }

  /** Expired rules are dropped before the cap is checked, so the cap counts live rules only. */
  async #prune(now: number): Promise<void> {
    const reply = await this.#link.send("HVALS", [this.#key("revocations")]);
    const expired = (Array.isArray(reply) ? reply : [])
      .map((json) => decodeRule(String(json)))
      .filter((rule) => rule.expiresAt <= now)
      .map((rule) => rule.id);
    if (expired.length > 0) await this.#link.send("HDEL", [this.#key("revocations"), ...expired]);
  }

  #key(kind: string, name?: string): string {
    return name === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${name}`;
  }

  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#link.send("EVAL", [script, String(keys.length), ...keys, ...args]);
  }
}

/**
 * The access store in Redis, shared by every instance. Layout under the deployment's prefix:
 * `revocations` (hash id → rule), `revocations:version` (counter every instance polls),
 * `login:<sid>` and `login-secret:<sid>` (expiring with the login), `logins` (sorted set of sids by
 * login time, trimmed to the newest MAX_LOGINS). Every value is sealed like the grants'
 * (record-seal.ts: Redis is trusted with availability only); names carry rule ids and login ids,
 * which are not secret (a login id rides in every wrapper of the login).
 *
 * A rule that does not open is skipped and reported, like any tampered record: whoever can write
 * Redis can delete a rule anyway. A rule sealed under an encryption key since retired no longer
 * opens either, and then matters no more: it only matches wrappers minted before it, whose own
 * `tok` was sealed under that key or an older one, and those no proxy can open any longer.
 */
import type { RevocationRule } from "../../core/access/revocation.ts";
import { decodeLogin, decodeRule } from "./access-codec.ts";
import { tooMany } from "./access-memory.ts";
import { type AccessStore, type LoginRecord, MAX_LOGINS, MAX_RULES } from "./access-store.ts";
import { createRecordSealer, type RecordSealer } from "./record-seal.ts";
import type { RedisStoreOptions } from "./redis.ts";
import { createRedisLink, type RedisLink } from "./redis-link.ts";
import { createTamperReport, type RecordKind, type TamperReport } from "./tamper-report.ts";

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

export function createRedisAccessStore(url: string, options: RedisStoreOptions): AccessStore {
  const link = createRedisLink(url, {
    connectMs: options.connectTimeoutMs ?? 2_000,
    commandMs: options.commandTimeoutMs ?? 2_000,
  });
  const seal = { sealer: createRecordSealer(options.keys), report: createTamperReport(options.logger) };
  return new RedisAccessStore(link, options.prefix ?? "surrogate:", seal);
}

interface Seal {
  sealer: RecordSealer;
  report: TamperReport;
}

class RedisAccessStore implements AccessStore {
  readonly backend = "redis";
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #seal: Seal;

  constructor(link: RedisLink, prefix: string, seal: Seal) {
    this.#link = link;
    this.#prefix = prefix;
    this.#seal = seal;
  }

  async addRevocation(rule: RevocationRule, now: number): Promise<void> {
    await this.#prune(now);
    const keys = [this.#key("revocations"), this.#key("revocations:version")];
    const sealed = await this.#seal.sealer.seal(this.#ruleName(rule.id), JSON.stringify(rule));
    const outcome = await this.#eval(ADD_RULE, keys, [rule.id, sealed, String(MAX_RULES)]);
    if (outcome === "full") throw tooMany();
  }

  async revocations(now: number): Promise<RevocationRule[]> {
    const rules = await this.#allRules();
    return rules.filter((rule) => rule.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Every rule that opens; one that does not is reported and left out (see the file comment). */
  async #allRules(): Promise<RevocationRule[]> {
    const reply = await this.#link.send("HGETALL", [this.#key("revocations")]);
    const flat = (Array.isArray(reply) ? reply : Object.entries(reply ?? {}).flat()).map(String);
    const rules: RevocationRule[] = [];
    for (let at = 0; at + 1 < flat.length; at += 2) {
      const json = await this.#open("revocation", this.#ruleName(flat[at]!), flat[at + 1]!);
      if (json !== undefined) rules.push(decodeRule(json));
    }
    return rules;
  }

  async revocationVersion(): Promise<string> {
    const reply = await this.#link.send("GET", [this.#key("revocations:version")]);
    return typeof reply === "string" ? reply : "0";
  }

  async recordLogin(login: LoginRecord, sealed: string | undefined, now: number): Promise<void> {
    const keys = [this.#key("login", login.sid), this.#key("login-secret", login.sid), this.#key("logins")];
    const { sealer } = this.#seal;
    const record = await sealer.seal(keys[0]!, JSON.stringify(login));
    const secret = sealed === undefined ? "" : await sealer.seal(keys[1]!, sealed);
    const args = [login.sid, record, secret, String(login.expiresAt), String(now)];
    await this.#eval(RECORD_LOGIN, keys, [...args, String(MAX_LOGINS), String(login.issuedAt)]);
  }

  async updateLoginSecret(sid: string, sealed: string): Promise<void> {
    const name = this.#key("login-secret", sid);
    const secret = await this.#seal.sealer.seal(name, sealed);
    await this.#eval(UPDATE_SECRET, [this.#key("login", sid), name], [secret]);
  }

  async getLogin(sid: string, now: number): Promise<LoginRecord | undefined> {
    const name = this.#key("login", sid);
    const reply = await this.#link.send("GET", [name]);
    const json = typeof reply === "string" ? await this.#open("login", name, reply) : undefined;
    const login = json === undefined ? undefined : decodeLogin(json);
    return login !== undefined && login.sid === sid && login.expiresAt > now ? login : undefined;
  }

  async loginSecret(sid: string): Promise<string | undefined> {
    const name = this.#key("login-secret", sid);
    const reply = await this.#link.send("GET", [name]);
    return typeof reply === "string" ? this.#open("login-secret", name, reply) : undefined;
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
      for (const [at, sid] of sids.entries()) {
        const row = Array.isArray(rows) ? rows[at] : undefined;
        const name = this.#key("login", sid);
        const json = typeof row === "string" ? await this.#open("login", name, row) : undefined;
        const login = json === undefined ? undefined : decodeLogin(json);
        if (login !== undefined && login.sid === sid && login.expiresAt > now) found.push(login);
        else if (login === undefined) gone.push(sid);
      }
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
    const expired = (await this.#allRules()).filter((rule) => rule.expiresAt <= now).map((rule) => rule.id);
    if (expired.length > 0) await this.#link.send("HDEL", [this.#key("revocations"), ...expired]);
  }

  async #open(kind: RecordKind, name: string, sealed: string): Promise<string | undefined> {
    const plain = await this.#seal.sealer.open(name, sealed);
    if (plain === undefined) this.#seal.report.record(kind, name);
    return plain;
  }

  /** The AAD of a rule: the hash's name and the field, so a rule moved to another id does not open. */
  #ruleName(id: string): string {
    return `${this.#key("revocations")}#${id}`;
  }

  #key(kind: string, name?: string): string {
    return name === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${name}`;
  }

  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#link.send("EVAL", [script, String(keys.length), ...keys, ...args]);
  }
}

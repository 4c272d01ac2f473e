/**
 * Someone who can read and write the rendezvous Redis (but holds none of the broker's keys) against
 * grants in flight: the real agent API (real certificates' identities, real keys, real wrappers)
 * over a real redis-server. The person's side is what the consent page and callback do to the
 * store: find the grant by its user code, approve, mint wrappers for the recorded thumbprint,
 * deliver. The attacker only ever touches Redis, with the keys each grant's creation wrote (found
 * by watching the keyspace, as anyone with access could).
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { deviceKeyOf } from "../../src/broker/codes.ts";
import { issueWrappers } from "../../src/broker/issue.ts";
import { DEVICE_CODE_GRANT } from "../../src/broker/metadata.ts";
import { createRedisStore } from "../../src/broker/rendezvous/redis.ts";
import type { RendezvousStore } from "../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import type { ClientIdentity } from "../../src/core/identity/types.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../src/core/provider/types.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { testKeySets } from "../helpers/keys.ts";
import {
  agentRequest,
  brokerParties,
  form,
  ISSUER,
  scriptedIdp,
  testConfig,
  testProvider,
  upstreamTokens,
} from "../unit/broker/fixtures.ts";
import { startTestRedis, type TestRedis } from "../unit/broker/rendezvous/redis-server.ts";

const UPSTREAM = "person-upstream-access-canary-5e1f";
const providers = new Map<string, ResolvedProvider>([["corp", testProvider({ oauth: scriptedIdp() })]]);
const config = testConfig();

let redis: TestRedis;
let raw: RedisClient;
let parties: Awaited<ReturnType<typeof brokerParties>>;
let keys: KeySets;
let prefix: string;
let store: RendezvousStore;
let logger: ReturnType<typeof createMemoryLogger>;
let api: ReturnType<typeof createAgentApi>;

beforeAll(async () => {
  [redis, parties] = await Promise.all([startTestRedis(), brokerParties()]);
  raw = new RedisClient(redis.url);
});

afterAll(async () => {
  raw.close();
  await redis.stop();
});

beforeEach(async () => {
  await store?.close();
  keys = parties.keys;
  prefix = `surrogate-sec:${crypto.randomUUID()}:`;
  logger = createMemoryLogger();
  store = createRedisStore(redis.url, config.rendezvous, { prefix, keys: () => keys, logger });
  const policy = new PolicyGate(config.policy);
  api = createAgentApi({
    config,
    providers,
    store,
    keys: () => keys,
    now: Date.now,
    logger,
    policy,
    revocations: new RevocationList(),
  });
});

interface Grant {
  deviceCode: string;
  userCode: string;
  /** The Redis keys its creation wrote, by kind (the segment after the prefix). */
  written: Map<string, string>;
}

async function keysNow(): Promise<Set<string>> {
  const found = new Set<string>();
  let cursor = "0";
  do {
    const reply = (await raw.send("SCAN", [cursor, "MATCH", `${prefix}*`, "COUNT", "500"])) as [
      string,
      string[],
    ];
    for (const key of reply[1]) found.add(key);
    cursor = reply[0];
  } while (cursor !== "0");
  return found;
}

async function createGrant(client: ClientIdentity): Promise<Grant> {
  const before = await keysNow();
  const response = await api(
    agentRequest(client, { target: "/v1/grants", body: form({ provider: "corp" }) }),
  );
  expect(response.status).toBe(200);
  const body = (await response.json()) as { device_code: string; user_code: string };
  const written = new Map<string, string>();
  for (const key of await keysNow()) {
    const kind = key.slice(prefix.length).split(":")[0]!;
    if (!before.has(key) && kind !== "active") written.set(kind, key);
  }
  return { deviceCode: body.device_code, userCode: body.user_code.replace("-", ""), written };
}

/** The person opens the consent page for their user code, approves, logs in; the callback delivers. */
async function personApproves(grant: Grant): Promise<boolean> {
  const record = await store.getByUserCode(grant.userCode, Date.now());
  if (record === undefined || !(await store.transition(record.id, "pending", "approved", Date.now())))
    return false;
  const context = {
    provider: providers.get("corp")!,
    bindings: record.bindings,
    requestedScope: record.scope,
  };
  const options = { issuer: ISSUER, tokenTtl: 3600, now: Date.now() };
  const { body } = await issueWrappers(upstreamTokens(UPSTREAM), context, keys, options);
  return store.deliver(record.id, JSON.stringify(body), Date.now());
}

async function collect(client: ClientIdentity, grant: Grant): Promise<{ status: number; error?: string }> {
  const params = { grant_type: DEVICE_CODE_GRANT, device_code: grant.deviceCode };
  const response = await api(agentRequest(client, { body: form(params) }));
  const body = (await response.json()) as { error?: string };
  return { status: response.status, ...(body.error === undefined ? {} : { error: body.error }) };
}

/** Where the attacker can read what to change, they change it; where they cannot, they flip a byte. */
function edit(value: string, find: string, replacement: string): string {
  if (value.includes(find)) return value.replaceAll(find, replacement);
  const middle = Math.floor(value.length / 2);
  return `${value.slice(0, middle)}${value[middle] === "A" ? "B" : "A"}${value.slice(middle + 1)}`;
}

async function hashOf(key: string): Promise<Record<string, string>> {
  return (await raw.send("HGETALL", [key])) as Record<string, string>;
}

async function rewriteHash(key: string, change: (value: string) => string): Promise<void> {
  const fields = await hashOf(key);
  const field = "json" in fields ? "json" : "rec";
  await raw.send("HSET", [key, field, change(fields[field]!)]);
}

function tamperedAudits(): number {
  return logger.lines.filter((line) => line.includes('"rendezvous.tampered"')).length;
}

describe("proof of concept: rewriting a pending grant in Redis to collect the person's wrapper", () => {
  test("thumbprint and device-code index rewritten: the attacker's certificate collects nothing", async () => {
    const { alpha, beta } = parties;
    const victim = await createGrant(alpha);
    const attacker = await createGrant(beta);
    await rewriteHash(victim.written.get("grant")!, (value) =>
      edit(value, alpha.thumbprint, beta.thumbprint),
    );
    const pointer = (await raw.send("GET", [victim.written.get("dk")!])) as string;
    await raw.send("SET", [attacker.written.get("dk")!, pointer, "KEEPTTL"]);
    await personApproves(victim);
    for (let i = 0; i < 3; i += 1) {
      expect(await collect(beta, attacker)).toEqual({ status: 400, error: "expired_token" });
    }
    expect(logger.lines.join("\n")).not.toContain("token.collected");
    expect(tamperedAudits()).toBeGreaterThan(0);
  });
});

describe("tampered records are absent, never delivered, and audited once", () => {
  test("a grant record edited or truncated: nobody collects, the consent page finds nothing", async () => {
    for (const change of [(v: string) => edit(v, "pending", "approved"), (v: string) => v.slice(0, -4)]) {
      const grant = await createGrant(parties.alpha);
      const audits = tamperedAudits();
      await rewriteHash(grant.written.get("grant")!, change);
      expect(await personApproves(grant)).toBe(false);
      expect(await collect(parties.alpha, grant)).toEqual({ status: 400, error: "expired_token" });
      expect(await collect(parties.alpha, grant)).toEqual({ status: 400, error: "expired_token" });
      expect(tamperedAudits()).toBe(audits + 1);
    }
  });

  test("two grants' records swapped: both absent", async () => {
    const first = await createGrant(parties.alpha);
    const second = await createGrant(parties.beta);
    const [a, b] = [first.written.get("grant")!, second.written.get("grant")!];
    const [recordA, recordB] = await Promise.all([hashOf(a), hashOf(b)]);
    await raw.send("HSET", [a, ...Object.entries(recordB).flat()]);
    await raw.send("HSET", [b, ...Object.entries(recordA).flat()]);
    expect(await personApproves(first)).toBe(false);
    expect(await personApproves(second)).toBe(false);
    expect(await collect(parties.alpha, first)).toEqual({ status: 400, error: "expired_token" });
    expect(await collect(parties.beta, second)).toEqual({ status: 400, error: "expired_token" });
  });

  test("a record copied under another grant's key: not honoured there; the original still works", async () => {
    const original = await createGrant(parties.alpha);
    const overwritten = await createGrant(parties.beta);
    const target = overwritten.written.get("grant")!;
    await raw.send("HSET", [target, ...Object.entries(await hashOf(original.written.get("grant")!)).flat()]);
    expect(await personApproves(overwritten)).toBe(false);
    expect(await collect(parties.beta, overwritten)).toEqual({ status: 400, error: "expired_token" });
    expect(await personApproves(original)).toBe(true);
    expect((await collect(parties.alpha, original)).status).toBe(200);
  });

  test("a delivered result edited, or replaced by another grant's: refused, nothing handed out", async () => {
    const mine = await createGrant(parties.alpha);
    const theirs = await createGrant(parties.alpha);
    expect(await personApproves(mine)).toBe(true);
    expect(await personApproves(theirs)).toBe(true);
    const [myResult, theirResult] = [mine.written, theirs.written].map((written) => {
      const grantKey = written.get("grant")!;
      return grantKey.replace(`${prefix}grant:`, `${prefix}result:`);
    });
    await raw.send("SET", [myResult!, (await raw.send("GET", [theirResult!])) as string, "KEEPTTL"]);
    const edited = edit((await raw.send("GET", [theirResult!])) as string, UPSTREAM, "x");
    await raw.send("SET", [theirResult!, edited, "KEEPTTL"]);
    expect(await collect(parties.alpha, mine)).toEqual({ status: 400, error: "invalid_grant" });
    expect(await collect(parties.alpha, theirs)).toEqual({ status: 400, error: "invalid_grant" });
    expect(logger.lines.join("\n")).not.toContain("token.collected");
  });
});

describe("nothing readable in Redis", () => {
  test("no user code, device code or key, grant id, thumbprint, workload or wrapper in any name or value", async () => {
    const grant = await createGrant(parties.alpha);
    const record = await store.getByUserCode(grant.userCode, Date.now());
    await store.poll(deviceKeyOf(grant.deviceCode), Date.now());
    expect(await personApproves(grant)).toBe(true);
    const secrets = [
      grant.userCode,
      grant.deviceCode,
      deviceKeyOf(grant.deviceCode),
      record!.id,
      parties.alpha.thumbprint,
      parties.alpha.workload,
      UPSTREAM,
      "eyJ", // any JOSE object (the wrappers), in any value
    ];
    const dump: string[] = [];
    for (const key of await keysNow()) {
      dump.push(key);
      const type = (await raw.send("TYPE", [key])) as string;
      if (type === "string") dump.push((await raw.send("GET", [key])) as string);
      if (type === "hash") dump.push(...Object.entries(await hashOf(key)).flat());
      if (type === "zset") dump.push(...((await raw.send("ZRANGE", [key, "0", "-1"])) as string[]));
    }
    expect(dump.length).toBeGreaterThan(10);
    const text = dump.join("\n");
    for (const secret of secrets)
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
  });
});

describe("key rotation with grants in flight", () => {
  test("sealed under the old key: still found, approved and collected after rotation; gone once the key is dropped", async () => {
    const old = keys;
    const fresh = await testKeySets();
    const before = await createGrant(parties.alpha);
    const dropped = await createGrant(parties.alpha);
    // The documented rotation: the new encryption key first, the old one kept for decryption.
    keys = {
      ...old,
      encrypter: fresh.encrypter,
      decrypters: new Map([...fresh.decrypters, ...old.decrypters]),
    };
    const after = await createGrant(parties.alpha);
    expect(await personApproves(before)).toBe(true);
    expect(await personApproves(after)).toBe(true);
    expect((await collect(parties.alpha, before)).status).toBe(200);
    expect((await collect(parties.alpha, after)).status).toBe(200);
    keys = { ...old, encrypter: fresh.encrypter, decrypters: fresh.decrypters };
    expect(await personApproves(dropped)).toBe(false);
    expect(await collect(parties.alpha, dropped)).toEqual({ status: 400, error: "expired_token" });
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { createRecordSealer } from "../../../../src/broker/rendezvous/record-seal.ts";
import { createRedisStore, type RedisStoreOptions } from "../../../../src/broker/rendezvous/redis.ts";
import type { RendezvousStore, StoreLimits } from "../../../../src/broker/rendezvous/store.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";
import { testKeySets } from "../../../helpers/keys.ts";
import { startTestRedis, type TestRedis } from "./redis-server.ts";
import { expectCode, makeGrant, registerStoreContract, T0 } from "./store-contract.ts";

const LIMITS: StoreLimits = { maxPendingPerWorkload: 50, maxPendingTotal: 500 };
/** Short deadlines so "Redis is down" answers quickly in tests. */
const FAST = { connectTimeoutMs: 500, commandTimeoutMs: 500 };
const keys = await testKeySets();
const SEALING = { keys: () => keys };

let own: TestRedis | undefined;
let url = "";
const stores: RendezvousStore[] = [];
const clients: RedisClient[] = [];

beforeAll(async () => {
  // SURROGATE_TEST_REDIS points at an existing server (CI); otherwise start one, and fail loudly if we cannot.
  const external = Bun.env.SURROGATE_TEST_REDIS;
  own = external ? undefined : await startTestRedis();
  url = external ?? own?.url ?? "";
});

afterAll(async () => {
  await own?.stop();
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const client of clients.splice(0)) client.close();
});

const freshPrefix = () => `surrogate-test:${crypto.randomUUID()}:`;

function openStore(limits = LIMITS, options: Partial<RedisStoreOptions> = {}, target = url): RendezvousStore {
  const store = createRedisStore(target, limits, { prefix: freshPrefix(), ...SEALING, ...options });
  stores.push(store);
  return store;
}

function rawClient(target = url): RedisClient {
  const client = new RedisClient(target, { autoReconnect: false });
  clients.push(client);
  return client;
}

async function keysUnder(client: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = (await client.send("SCAN", [cursor, "MATCH", `${prefix}*`, "COUNT", "100"])) as [
      string,
      string[],
    ];
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

registerStoreContract("redis", async (limits) =>
  createRedisStore(url, limits, { prefix: freshPrefix(), ...SEALING }),
);

describe("redis store: keys", () => {
  test("every key it writes carries a TTL no longer than the grant's remaining life", async () => {
    const prefix = freshPrefix();
    const store = createRedisStore(url, LIMITS, { prefix, ...SEALING });
    stores.push(store);
    const done = makeGrant({ expiresAt: T0 + 60_000 });
    const waiting = makeGrant({ expiresAt: T0 + 120_000 });
    await store.create(done, T0);
    await store.create(waiting, T0);
    await store.transition(done.id, "pending", "approved", T0);
    await store.deliver(done.id, "result", T0);
    await store.poll(done.deviceKey, T0);
    const client = rawClient();
    const written = await keysUnder(client, prefix);
    const kinds = new Set(written.map((key) => key.slice(prefix.length).split(":")[0]));
    expect([...kinds].sort()).toEqual(["active", "dk", "grant", "poll", "result", "uc", "wl"]);
    for (const key of written) {
      const ttl = (await client.send("PTTL", [key])) as number;
      expect({ key, positive: ttl > 0 }).toEqual({ key, positive: true });
      expect(ttl).toBeLessThanOrEqual(120_000);
    }
    const [resultTag] = await createRecordSealer(() => keys).tags("grant", done.id);
    expect(await client.send("PTTL", [`${prefix}result:${resultTag}`])).toBeLessThanOrEqual(60_000);
  });

  test("the default prefix is surrogate:", async () => {
    const store = createRedisStore(url, LIMITS, SEALING);
    stores.push(store);
    // Denied: holds no capacity, so no shared zset keys are touched in a possibly shared Redis.
    const grant = makeGrant({ status: "denied" });
    await store.create(grant, T0);
    const client = rawClient();
    const sealer = createRecordSealer(() => keys);
    const [[grantTag], [ucTag], [dkTag]] = await Promise.all([
      sealer.tags("grant", grant.id),
      sealer.tags("uc", grant.userCode),
      sealer.tags("dk", grant.deviceKey),
    ]);
    expect(await client.send("EXISTS", [`surrogate:grant:${grantTag}`])).toBe(1);
    await client.send("DEL", [
      `surrogate:grant:${grantTag}`,
      `surrogate:uc:${ucTag}`,
      `surrogate:dk:${dkTag}`,
    ]);
  });

  test("a record we did not seal, at the very name we would read, is absent and audited once", async () => {
    const prefix = freshPrefix();
    const logger = createMemoryLogger();
    const store = createRedisStore(url, LIMITS, { prefix, logger, ...SEALING });
    stores.push(store);
    const [tag] = await createRecordSealer(() => keys).tags("grant", "x");
    const client = rawClient();
    const json = JSON.stringify({ ...makeGrant({ id: "x" }) });
    await client.send("HSET", [`${prefix}grant:${tag}`, "rec", json, "exp", String(T0 + 60_000)]);
    await client.send("PEXPIRE", [`${prefix}grant:${tag}`, "60000"]);
    expect(await store.getById("x", T0)).toBeUndefined();
    expect(await store.getById("x", T0)).toBeUndefined();
    expect(await store.list(10, T0)).toEqual([]);
    const audited = logger.lines.filter((line) => line.includes("rendezvous.tampered"));
    expect(audited).toHaveLength(1);
    expect(JSON.parse(audited[0]!)).toMatchObject({ event: "rendezvous.tampered", record: "grant" });
  });
});

describe("redis store: several instances", () => {
  test("a grant created on one instance is approved, delivered and taken on others", async () => {
    const options = { prefix: freshPrefix(), ...SEALING };
    const [a, b, c] = [0, 1, 2].map(() => createRedisStore(url, LIMITS, options));
    stores.push(a!, b!, c!);
    const grant = makeGrant();
    await a!.create(grant, T0);
    expect(await b!.transition(grant.id, "pending", "approved", T0)).toBe(true);
    expect(await c!.deliver(grant.id, "result", T0)).toBe(true);
    expect(await a!.poll(grant.deviceKey, T0)).toBe("ok");
    expect(await b!.poll(grant.deviceKey, T0 + 1)).toBe("slow_down");
    expect(await b!.take(grant.deviceKey, T0 + 2)).toBe("result");
    expect(await c!.take(grant.deviceKey, T0 + 2)).toBeUndefined();
  });

  test("caps hold across instances, also under concurrent creates", async () => {
    const options = { prefix: freshPrefix(), ...SEALING };
    const limits = { maxPendingPerWorkload: 3, maxPendingTotal: 5 };
    const [a, b] = [createRedisStore(url, limits, options), createRedisStore(url, limits, options)];
    stores.push(a, b);
    const attempts = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).create(makeGrant(), T0));
    const settled = await Promise.allSettled(attempts);
    expect(settled.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(3);
    await expectCode(b.create(makeGrant(), T0), "rate_limited");
    await b.create(makeGrant({ workload: "spiffe://corp.example/agents/b" }), T0);
    await a.create(makeGrant({ workload: "spiffe://corp.example/agents/c" }), T0);
    await expectCode(a.create(makeGrant({ workload: "spiffe://corp.example/agents/d" }), T0), "rate_limited");
  });

  test("20 concurrent takes over two instances: exactly one gets the result", async () => {
    const options = { prefix: freshPrefix(), ...SEALING };
    const [a, b] = [createRedisStore(url, LIMITS, options), createRedisStore(url, LIMITS, options)];
    stores.push(a, b);
    const grant = makeGrant();
    await a.create(grant, T0);
    await a.transition(grant.id, "pending", "approved", T0);
    await b.deliver(grant.id, "only-once", T0);
    const takes = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).take(grant.deviceKey, T0));
    expect((await Promise.all(takes)).filter((result) => result !== undefined)).toEqual(["only-once"]);
  });
});

describe("redis store: backend down", () => {
  let flaky: TestRedis;
  beforeAll(async () => {
    flaky = await startTestRedis();
  });
  afterAll(async () => {
    await flaky.stop();
  });

  async function expectAllUnavailable(store: RendezvousStore): Promise<void> {
    const grant = makeGrant();
    const unavailable = "temporarily_unavailable";
    await expectCode(store.create(grant, T0), unavailable);
    await expectCode(store.getById(grant.id, T0), unavailable);
    await expectCode(store.getByUserCode(grant.userCode, T0), unavailable);
    await expectCode(store.getByDeviceKey(grant.deviceKey, T0), unavailable);
    await expectCode(store.transition(grant.id, "pending", "approved", T0), unavailable);
    await expectCode(store.deliver(grant.id, "result", T0), unavailable);
    await expectCode(store.take(grant.deviceKey, T0), unavailable);
    await expectCode(store.poll(grant.deviceKey, T0), unavailable);
    await expectCode(store.list(10, T0), unavailable);
    await expectCode(store.size(T0), unavailable);
    expect(await store.ping()).toBe(false);
  }

  test("stopped Redis: every method throws temporarily_unavailable, then the store recovers", async () => {
    const store = openStore(LIMITS, FAST, flaky.url);
    const before = makeGrant();
    await store.create(before, T0);
    await flaky.stop();
    await expectAllUnavailable(store);
    await flaky.start();
    expect(await store.ping()).toBe(true);
    const after = makeGrant();
    await store.create(after, T0);
    expect(await store.getById(after.id, T0)).toEqual(after);
  });

  test("a Redis that accepts but never answers: temporarily_unavailable, then recovery", async () => {
    const store = openStore(LIMITS, FAST, flaky.url);
    expect(await store.ping()).toBe(true);
    flaky.freeze();
    try {
      await expectCode(store.getById("x", T0), "temporarily_unavailable");
      expect(await store.ping()).toBe(false);
    } finally {
      flaky.thaw();
    }
    const grant = makeGrant();
    await store.create(grant, T0);
    expect(await store.getById(grant.id, T0)).toEqual(grant);
  });

  test("a Redis that was never there: temporarily_unavailable, and the message names no URL", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedPort = probe.port;
    probe.stop(true);
    const store = openStore(LIMITS, FAST, `redis://:hunter2@127.0.0.1:${closedPort}`);
    const error = await store.getById("x", T0).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: "temporarily_unavailable", message: "rendezvous store unreachable" });
    expect(String(error)).not.toContain("hunter2");
    expect(await store.ping()).toBe(false);
  });

  test("after close, the store refuses work instead of reconnecting", async () => {
    const store = openStore(LIMITS, FAST, flaky.url);
    expect(await store.ping()).toBe(true);
    await store.close();
    await expectCode(store.getById("x", T0), "temporarily_unavailable");
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { createRedisAccessStore } from "../../../../src/broker/rendezvous/access-redis.ts";
import { newRule } from "../../../../src/core/access/revocation.ts";
import { A0, makeLogin, registerAccessContract } from "./access-contract.ts";
import { startTestRedis, type TestRedis } from "./redis-server.ts";

let redis: TestRedis | undefined;
let url = "";

beforeAll(async () => {
  const external = Bun.env.SURROGATE_TEST_REDIS;
  redis = external ? undefined : await startTestRedis();
  url = external ?? redis?.url ?? "";
});

afterAll(async () => {
  await redis?.stop();
});

const freshPrefix = () => `surrogate-test:${crypto.randomUUID()}:`;

registerAccessContract("redis", async () => createRedisAccessStore(url, { prefix: freshPrefix() }));

describe("redis access store", () => {
  test("two instances sharing a prefix see each other's rules and logins", async () => {
    const prefix = freshPrefix();
    const a = createRedisAccessStore(url, { prefix });
    const b = createRedisAccessStore(url, { prefix });
    const rule = newRule({ workload: "spiffe://corp.example/**" }, "admin", A0);
    await a.addRevocation(rule, A0);
    expect(await b.revocations(A0)).toEqual([rule]);
    const login = makeLogin();
    await a.recordLogin(login, "sealed", A0);
    expect(await b.logins(5, A0)).toEqual([login]);
    await Promise.all([a.close(), b.close()]);
  });

  test("nothing but the sealed form of a secret is written; a login's keys expire with it", async () => {
    const prefix = freshPrefix();
    const store = createRedisAccessStore(url, { prefix });
    const login = makeLogin({ expiresAt: Date.now() + 60_000, issuedAt: Date.now() });
    await store.recordLogin(login, "eyJhbGciOiJkaXIi.sealed", Date.now());
    const client = new RedisClient(url);
    const ttl = Number(await client.send("PTTL", [`${prefix}login-secret:${login.sid}`]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    client.close();
    await store.close();
  });

  test("a stored rule that does not decode is an error, never a silently dropped revocation", async () => {
    const prefix = freshPrefix();
    const store = createRedisAccessStore(url, { prefix });
    const client = new RedisClient(url);
    await client.send("HSET", [`${prefix}revocations`, "bad", '{"id":"bad","target":{"login":""}}']);
    await expect(store.revocations(A0)).rejects.toThrow("malformed");
    client.close();
    await store.close();
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { createRedisAccessStore } from "../../../../src/broker/rendezvous/access-redis.ts";
import { newRule } from "../../../../src/core/access/revocation.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";
import { testKeySets } from "../../../helpers/keys.ts";
import { A0, makeLogin, registerAccessContract } from "./access-contract.ts";
import { startTestRedis, type TestRedis } from "./redis-server.ts";

let redis: TestRedis | undefined;
const keys = await testKeySets();
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

registerAccessContract("redis", async () =>
  createRedisAccessStore(url, { prefix: freshPrefix(), keys: () => keys }),
);

describe("redis access store", () => {
  test("two instances sharing a prefix see each other's rules and logins", async () => {
    const prefix = freshPrefix();
    const a = createRedisAccessStore(url, { prefix, keys: () => keys });
    const b = createRedisAccessStore(url, { prefix, keys: () => keys });
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
    const store = createRedisAccessStore(url, { prefix, keys: () => keys });
    const login = makeLogin({ expiresAt: Date.now() + 60_000, issuedAt: Date.now() });
    await store.recordLogin(login, "eyJhbGciOiJkaXIi.sealed", Date.now());
    const client = new RedisClient(url);
    const ttl = Number(await client.send("PTTL", [`${prefix}login-secret:${login.sid}`]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    client.close();
    await store.close();
  });

  test("a rule or login written without our keys does not open: skipped and reported, the others stand", async () => {
    const prefix = freshPrefix();
    const logger = createMemoryLogger();
    const store = createRedisAccessStore(url, { prefix, keys: () => keys, logger });
    const kept = newRule({ provider: "github" }, "admin", A0);
    await store.addRevocation(kept, A0);
    const client = new RedisClient(url);
    await client.send("HSET", [
      `${prefix}revocations`,
      "forged",
      JSON.stringify(newRule({ login: "x" }, "evil", A0)),
    ]);
    expect(await store.revocations(A0)).toEqual([kept]);
    await client.send("SET", [`${prefix}login:forged`, JSON.stringify(makeLogin({ sid: "forged" }))]);
    expect(await store.getLogin("forged", A0)).toBeUndefined();
    const audits = logger.lines
      .map((line) => JSON.parse(line))
      .filter((line) => line.event === "rendezvous.tampered");
    expect(audits.map((line) => line.record).sort()).toEqual(["login", "revocation"]);
    // What Redis holds is sealed: no workload, person or provider in the clear.
    const raw = String(await client.send("HGET", [`${prefix}revocations`, kept.id]));
    expect(raw).not.toContain("github");
    client.close();
    await store.close();
  });
});

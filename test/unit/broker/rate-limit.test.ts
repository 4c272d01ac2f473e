import { beforeAll, describe, expect, test } from "bun:test";
import { createAgentApi } from "../../../src/broker/agent-api.ts";
import { RateLimiter } from "../../../src/broker/rate-limit.ts";
import { createMemoryStore } from "../../../src/broker/rendezvous/memory.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { agentRequest, brokerParties, form, scriptedIdp, testConfig, testProvider } from "./fixtures.ts";

function limiter(perMinute: number, maxKeys?: number) {
  const clock = { now: 1_000_000 };
  const rate = new RateLimiter({
    perMinute,
    now: () => clock.now,
    ...(maxKeys === undefined ? {} : { maxKeys }),
  });
  return { rate, clock };
}

function takeN(rate: RateLimiter, key: string, n: number): boolean[] {
  return Array.from({ length: n }, () => rate.take(key).allowed);
}

describe("RateLimiter (token bucket)", () => {
  test("a burst of perMinute, then refusals saying when to retry", () => {
    const { rate } = limiter(10);
    expect(takeN(rate, "a", 10).every(Boolean)).toBe(true);
    expect(rate.take("a")).toEqual({ allowed: false, retryAfter: 6 });
  });

  test("refills at perMinute / 60 per second, never above the burst", () => {
    const { rate, clock } = limiter(10);
    takeN(rate, "a", 10);
    clock.now += 5_999;
    expect(rate.take("a")).toEqual({ allowed: false, retryAfter: 1 });
    clock.now += 1;
    expect(rate.take("a").allowed).toBe(true);
    expect(rate.take("a").allowed).toBe(false);
    clock.now += 3_600_000;
    expect(takeN(rate, "a", 11)).toEqual([...Array(10).fill(true), false]);
  });

  test("Retry-After is whole seconds, at least 1", () => {
    const { rate } = limiter(1);
    rate.take("a");
    expect(rate.take("a")).toEqual({ allowed: false, retryAfter: 60 });
    const fast = limiter(6000).rate;
    takeN(fast, "b", 6000);
    expect(fast.take("b")).toEqual({ allowed: false, retryAfter: 1 });
  });

  test("one workload's bucket does not drain another's", () => {
    const { rate } = limiter(2);
    takeN(rate, "a", 5);
    expect(takeN(rate, "b", 2)).toEqual([true, true]);
  });

  test("a clock that goes backwards refills nothing", () => {
    const { rate, clock } = limiter(2);
    takeN(rate, "a", 2);
    clock.now -= 60_000;
    expect(rate.take("a").allowed).toBe(false);
  });

  test("bounded: beyond maxKeys the least recently seen bucket is dropped", () => {
    const { rate } = limiter(1, 3);
    for (const key of ["a", "b", "c"]) rate.take(key);
    rate.take("a"); // a is now the most recently seen
    rate.take("d"); // evicts b
    expect(rate.size).toBe(3);
    expect(rate.take("a").allowed).toBe(false); // kept: still empty
    expect(rate.take("c").allowed).toBe(false); // kept
    expect(rate.take("b").allowed).toBe(true); // evicted: a fresh bucket
    for (let i = 0; i < 10_000; i += 1) rate.take(`flood-${i}`);
    expect(rate.size).toBe(3);
  });
});

describe("POST /v1/grants under the rate limit", () => {
  let keys: KeySets;
  let alpha: ClientIdentity;
  let beta: ClientIdentity;
  beforeAll(async () => {
    ({ keys, alpha, beta } = await brokerParties());
  });

  function api(createRate?: number) {
    const clock = { now: Date.now() };
    const config = testConfig({
      rendezvous: { maxPendingPerWorkload: 100, ...(createRate === undefined ? {} : { createRate }) },
      policy: [{ workload: "spiffe://test.example/agents/*", providers: ["corp"] }],
    });
    const logger = createMemoryLogger();
    const handler = createAgentApi({
      config,
      policy: new PolicyGate(config.policy),
      revocations: new RevocationList(),
      providers: new Map([["corp", testProvider({ oauth: scriptedIdp() })]]),
      store: createMemoryStore(config.rendezvous),
      keys: () => keys,
      now: () => clock.now,
      logger,
    });
    const create = (client: ClientIdentity, provider = "corp") =>
      handler(agentRequest(client, { target: "/v1/grants", body: form({ provider }) }));
    return { create, clock, logger };
  }

  test("default 10 per minute: the 11th is 429 rate_limited with Retry-After, no grant stored", async () => {
    const { create, logger } = api();
    for (let i = 0; i < 10; i += 1) expect((await create(alpha)).status).toBe(200);
    const refused = await create(alpha);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("6");
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect(((await refused.json()) as { error: string }).error).toBe("rate_limited");
    const audits = logger.lines.filter((line) => line.includes("grant.created"));
    expect(audits).toHaveLength(11);
    expect(audits.at(-1)).toContain("rate_limited");
  });

  test("refused attempts count too; another workload is unaffected; time restores it", async () => {
    const { create, clock } = api(2);
    expect((await create(alpha, "nope")).status).toBe(400);
    expect((await create(alpha)).status).toBe(200);
    expect((await create(alpha)).status).toBe(429);
    expect((await create(beta)).status).toBe(200);
    clock.now += 30_000;
    expect((await create(alpha)).status).toBe(200);
  });
});

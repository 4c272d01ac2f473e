/**
 * One behavioural contract for every RendezvousStore backend: memory.test.ts and redis.test.ts both
 * register it, so the backends cannot drift apart. Time is injected (`now`), never waited for.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { GrantRecord, RendezvousStore, StoreLimits } from "../../../../src/broker/rendezvous/store.ts";
import { RendezvousError } from "../../../../src/core/errors.ts";
import { certificateBound } from "../../../helpers/bindings.ts";

export type StoreFactory = (limits: StoreLimits) => Promise<RendezvousStore>;

export const T0 = 1_700_000_000_000;
const TTL = 600_000;
const ROOMY: StoreLimits = { maxPendingPerWorkload: 50, maxPendingTotal: 500 };
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

function randomText(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

function randomUserCode(): string {
  const picks = crypto.getRandomValues(new Uint8Array(8));
  return [...picks].map((byte) => USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]).join("");
}

export function makeGrant(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id: randomText(16),
    deviceKey: randomText(32),
    userCode: randomUserCode(),
    provider: "github",
    scope: ["repo", "read:user"],
    workload: "spiffe://corp.example/agents/a",
    thumbprint: randomText(32),
    fingerprint: "AB:CD",
    bindings: certificateBound(randomText(32)),
    createdAt: T0,
    expiresAt: T0 + TTL,
    interval: 5,
    status: "pending",
    ...overrides,
  };
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RendezvousError);
  expect((error as RendezvousError).code).toBe(code as RendezvousError["code"]);
}

export function registerStoreContract(name: string, factory: StoreFactory): void {
  const opened: RendezvousStore[] = [];
  const open = async (limits: StoreLimits = ROOMY) => {
    const store = await factory(limits);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  describe(`${name} store: create and read`, () => {
    test("a created grant is found by id, user code and device key", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      expect(await store.getById(grant.id, T0)).toEqual(grant);
      expect(await store.getByUserCode(grant.userCode, T0)).toEqual(grant);
      expect(await store.getByDeviceKey(grant.deviceKey, T0)).toEqual(grant);
    });

    test("unknown keys are absent", async () => {
      const store = await open();
      await store.create(makeGrant(), T0);
      expect(await store.getById("nope", T0)).toBeUndefined();
      expect(await store.getByUserCode("BCDFGHJK", T0)).toBeUndefined();
      expect(await store.getByDeviceKey("nope", T0)).toBeUndefined();
    });

    test("records are copied in and out, never shared", async () => {
      const store = await open();
      const grant = makeGrant();
      const original = structuredClone(grant);
      await store.create(grant, T0);
      grant.status = "approved";
      grant.scope.push("admin");
      const first = await store.getById(original.id, T0);
      expect(first).toEqual(original);
      first!.scope.push("admin");
      first!.status = "complete";
      expect(await store.getById(original.id, T0)).toEqual(original);
      const [listed] = await store.list(10, T0);
      listed!.scope.length = 0;
      expect(await store.getByUserCode(original.userCode, T0)).toEqual(original);
    });

    test("a live id, user code or device key cannot be created twice", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      await expectCode(store.create(makeGrant({ id: grant.id }), T0), "server_error");
      await expectCode(store.create(makeGrant({ userCode: grant.userCode }), T0), "server_error");
      await expectCode(store.create(makeGrant({ deviceKey: grant.deviceKey }), T0), "server_error");
      expect(await store.size(T0)).toBe(1);
    });

    test("an expired grant's user code and device key may be reused", async () => {
      const store = await open();
      const old = makeGrant({ expiresAt: T0 + 1000 });
      await store.create(old, T0);
      const reuse = makeGrant({ userCode: old.userCode, deviceKey: old.deviceKey, expiresAt: T0 + TTL });
      await store.create(reuse, T0 + 1000);
      expect(await store.getByUserCode(old.userCode, T0 + 1000)).toEqual(reuse);
      expect(await store.getByDeviceKey(old.deviceKey, T0 + 1000)).toEqual(reuse);
    });

    test("creating an already-expired grant is refused", async () => {
      const store = await open();
      await expectCode(store.create(makeGrant({ expiresAt: T0 }), T0), "server_error");
      expect(await store.size(T0 - 1)).toBe(0);
    });
  });

  describe(`${name} store: expiry`, () => {
    test("a grant is present until expiresAt and absent from then on, everywhere", async () => {
      const store = await open();
      const grant = makeGrant({ expiresAt: T0 + 10_000 });
      await store.create(grant, T0);
      await store.transition(grant.id, "pending", "approved", T0);
      await store.deliver(grant.id, "result", T0);
      const before = T0 + 9_999;
      expect(await store.getById(grant.id, before)).toBeDefined();
      expect(await store.size(before)).toBe(1);
      const at = T0 + 10_000;
      expect(await store.getById(grant.id, at)).toBeUndefined();
      expect(await store.getByUserCode(grant.userCode, at)).toBeUndefined();
      expect(await store.getByDeviceKey(grant.deviceKey, at)).toBeUndefined();
      expect(await store.transition(grant.id, "complete", "denied", at)).toBe(false);
      expect(await store.take(grant.deviceKey, at)).toBeUndefined();
      expect(await store.list(10, at)).toEqual([]);
      expect(await store.size(at)).toBe(0);
    });

    test("an expired approved grant cannot be delivered", async () => {
      const store = await open();
      const grant = makeGrant({ expiresAt: T0 + 10_000 });
      await store.create(grant, T0);
      await store.transition(grant.id, "pending", "approved", T0);
      expect(await store.deliver(grant.id, "result", T0 + 10_000)).toBe(false);
      expect(await store.take(grant.deviceKey, T0 + 10_000)).toBeUndefined();
    });
  });

  describe(`${name} store: transitions and delivery`, () => {
    test("transition is a compare-and-set on status", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      expect(await store.transition(grant.id, "approved", "complete", T0)).toBe(false);
      expect((await store.getById(grant.id, T0))?.status).toBe("pending");
      expect(await store.transition(grant.id, "pending", "approved", T0)).toBe(true);
      expect((await store.getById(grant.id, T0))?.status).toBe("approved");
      expect(await store.transition(grant.id, "pending", "denied", T0)).toBe(false);
      expect((await store.getByDeviceKey(grant.deviceKey, T0))?.status).toBe("approved");
      expect(await store.transition("unknown", "pending", "approved", T0)).toBe(false);
    });

    test("of concurrent transitions from the same status exactly one wins", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.transition(grant.id, "pending", i % 2 === 0 ? "approved" : "denied", T0),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });

    test("deliver only works on an approved grant and completes it", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      expect(await store.deliver(grant.id, "early", T0)).toBe(false);
      expect(await store.take(grant.deviceKey, T0)).toBeUndefined();
      expect((await store.getById(grant.id, T0))?.status).toBe("pending");
      await store.transition(grant.id, "pending", "approved", T0);
      expect(await store.deliver(grant.id, "result", T0)).toBe(true);
      expect((await store.getById(grant.id, T0))?.status).toBe("complete");
      expect(await store.deliver(grant.id, "second", T0)).toBe(false);
      expect(await store.take(grant.deviceKey, T0)).toBe("result");
    });

    test("a denied grant cannot be delivered", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      await store.transition(grant.id, "pending", "denied", T0);
      expect(await store.deliver(grant.id, "result", T0)).toBe(false);
      expect(await store.deliver("unknown", "result", T0)).toBe(false);
    });
  });

  describe(`${name} store: take`, () => {
    test("a delivered result is handed out exactly once", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      expect(await store.take(grant.deviceKey, T0)).toBeUndefined();
      await store.transition(grant.id, "pending", "approved", T0);
      await store.deliver(grant.id, '{"access_token":"w"}', T0);
      expect(await store.take(grant.deviceKey, T0)).toBe('{"access_token":"w"}');
      expect(await store.take(grant.deviceKey, T0)).toBeUndefined();
      expect((await store.getById(grant.id, T0))?.status).toBe("complete");
      expect(await store.take("unknown", T0)).toBeUndefined();
    });

    test("20 concurrent takes: exactly one gets the result", async () => {
      const store = await open();
      const grant = makeGrant();
      await store.create(grant, T0);
      await store.transition(grant.id, "pending", "approved", T0);
      await store.deliver(grant.id, "only-once", T0);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take(grant.deviceKey, T0)));
      expect(results.filter((result) => result !== undefined)).toEqual(["only-once"]);
    });
  });

  describe(`${name} store: poll (RFC 8628 §3.5 slow_down)`, () => {
    test("the first poll is ok; polls interval seconds apart are ok", async () => {
      const store = await open();
      const grant = makeGrant({ interval: 5 });
      await store.create(grant, T0);
      expect(await store.poll(grant.deviceKey, T0)).toBe("ok");
      expect(await store.poll(grant.deviceKey, T0 + 5_000)).toBe("ok");
      expect(await store.poll(grant.deviceKey, T0 + 11_000)).toBe("ok");
    });

    test("a poll sooner than interval is slow_down, and is itself recorded", async () => {
      const store = await open();
      const grant = makeGrant({ interval: 5 });
      await store.create(grant, T0);
      expect(await store.poll(grant.deviceKey, T0)).toBe("ok");
      expect(await store.poll(grant.deviceKey, T0 + 4_999)).toBe("slow_down");
      // 5 s after the first poll but only 1 ms after the too-fast one.
      expect(await store.poll(grant.deviceKey, T0 + 5_000)).toBe("slow_down");
      expect(await store.poll(grant.deviceKey, T0 + 10_000)).toBe("ok");
    });

    test("polls are counted per grant", async () => {
      const store = await open();
      const a = makeGrant();
      const b = makeGrant();
      await store.create(a, T0);
      await store.create(b, T0);
      expect(await store.poll(a.deviceKey, T0)).toBe("ok");
      expect(await store.poll(b.deviceKey, T0 + 1)).toBe("ok");
      expect(await store.poll(a.deviceKey, T0 + 2)).toBe("slow_down");
    });
  });

  describe(`${name} store: caps`, () => {
    const other = "spiffe://corp.example/agents/b";

    test("per workload: refused with rate_limited at the cap, other workloads unaffected", async () => {
      const store = await open({ maxPendingPerWorkload: 2, maxPendingTotal: 100 });
      await store.create(makeGrant(), T0);
      await store.create(makeGrant(), T0);
      await expectCode(store.create(makeGrant(), T0), "rate_limited");
      await store.create(makeGrant({ workload: other }), T0);
      expect(await store.size(T0)).toBe(3);
    });

    test("per workload: approved grants hold capacity; denied, complete and expired ones free it", async () => {
      const store = await open({ maxPendingPerWorkload: 2, maxPendingTotal: 100 });
      const a = makeGrant();
      const b = makeGrant({ expiresAt: T0 + 1_000 });
      await store.create(a, T0);
      await store.create(b, T0);
      await store.transition(a.id, "pending", "approved", T0);
      await expectCode(store.create(makeGrant(), T0), "rate_limited");
      await store.deliver(a.id, "result", T0);
      const c = makeGrant();
      await store.create(c, T0);
      await expectCode(store.create(makeGrant(), T0), "rate_limited");
      await store.transition(c.id, "pending", "denied", T0);
      const d = makeGrant();
      await store.create(d, T0);
      await expectCode(store.create(makeGrant(), T0 + 999), "rate_limited");
      await store.create(makeGrant(), T0 + 1_000);
    });

    test("in total: refused with rate_limited at the cap across workloads; freed by a denial", async () => {
      const store = await open({ maxPendingPerWorkload: 10, maxPendingTotal: 3 });
      const first = makeGrant();
      await store.create(first, T0);
      await store.create(makeGrant({ workload: other }), T0);
      await store.create(makeGrant({ workload: "spiffe://corp.example/agents/c" }), T0);
      await expectCode(
        store.create(makeGrant({ workload: "spiffe://corp.example/agents/d" }), T0),
        "rate_limited",
      );
      await store.transition(first.id, "pending", "denied", T0);
      await store.create(makeGrant({ workload: "spiffe://corp.example/agents/d" }), T0);
      await expectCode(store.create(makeGrant(), T0), "rate_limited");
    });

    test("in total: expired grants free capacity", async () => {
      const store = await open({ maxPendingPerWorkload: 10, maxPendingTotal: 2 });
      await store.create(makeGrant({ expiresAt: T0 + 1_000 }), T0);
      await store.create(makeGrant({ workload: other, expiresAt: T0 + 2_000 }), T0);
      await expectCode(store.create(makeGrant(), T0 + 999), "rate_limited");
      await store.create(makeGrant({ expiresAt: T0 + 10_000 }), T0 + 1_000);
      await expectCode(store.create(makeGrant(), T0 + 1_999), "rate_limited");
      await store.create(makeGrant({ workload: other, expiresAt: T0 + 10_000 }), T0 + 2_000);
    });
  });

  describe(`${name} store: list, size, ping`, () => {
    test("list returns live grants newest first, at most limit; size counts live grants", async () => {
      const store = await open();
      const grants = [0, 1, 2, 3].map((i) => makeGrant({ createdAt: T0 + i, expiresAt: T0 + 10_000 + i }));
      for (const grant of [grants[2]!, grants[0]!, grants[3]!, grants[1]!]) await store.create(grant, T0 + 3);
      await store.transition(grants[1]!.id, "pending", "denied", T0 + 3);
      const denied: GrantRecord = { ...grants[1]!, status: "denied" };
      expect(await store.list(10, T0 + 3)).toEqual([grants[3]!, grants[2]!, denied, grants[0]!]);
      expect(await store.list(2, T0 + 3)).toEqual([grants[3]!, grants[2]!]);
      expect(await store.list(0, T0 + 3)).toEqual([]);
      expect(await store.size(T0 + 3)).toBe(4);
      expect(await store.list(10, T0 + 10_001)).toEqual([grants[3]!, grants[2]!]);
      expect(await store.size(T0 + 10_001)).toBe(2);
    });

    test("an empty store lists nothing and has size 0", async () => {
      const store = await open();
      expect(await store.list(10, T0)).toEqual([]);
      expect(await store.size(T0)).toBe(0);
    });

    test("ping answers true when the backend is up", async () => {
      const store = await open();
      expect(await store.ping()).toBe(true);
    });
  });
}

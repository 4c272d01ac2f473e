/**
 * One behavioural contract for every AccessStore backend (access-memory.test.ts, access-redis.test.ts):
 * revocation rules, their version counter, recent logins and their sealed secrets. Time is injected.
 */
import { describe, expect, test } from "bun:test";
import type { AccessStore, LoginRecord } from "../../../../src/broker/rendezvous/access-store.ts";
import { newRule } from "../../../../src/core/access/revocation.ts";
import { RendezvousError } from "../../../../src/core/errors.ts";

export const A0 = 1_800_000_000_000;

export function makeLogin(overrides: Partial<LoginRecord> = {}): LoginRecord {
  return {
    sid: crypto.randomUUID(),
    workload: "spiffe://corp.example/agents/a",
    fingerprint: "AB:CD",
    provider: "github",
    sub: "alice",
    scope: "repo",
    issuedAt: A0,
    expiresAt: A0 + 3_600_000,
    ...overrides,
  };
}

export function registerAccessContract(name: string, open: () => Promise<AccessStore>): void {
  describe(`${name} access store contract`, () => {
    test("rules: added, listed in order, version moves with each add", async () => {
      const store = await open();
      const v0 = await store.revocationVersion();
      const first = newRule({ provider: "github" }, "admin", A0);
      const second = newRule({ login: "sid-1" }, "api", A0 + 1);
      await store.addRevocation(first, A0);
      const v1 = await store.revocationVersion();
      await store.addRevocation(second, A0);
      expect(new Set([v0, v1, await store.revocationVersion()]).size).toBe(3);
      expect(await store.revocations(A0)).toEqual([first, second]);
      // Gone once no wrapper they can match is alive.
      expect(await store.revocations(first.expiresAt + 1)).toEqual([]);
      await store.close();
    });

    test("logins: newest first, limited, expired ones gone; the sealed secret follows the login", async () => {
      const store = await open();
      const old = makeLogin({ issuedAt: A0 - 1000 });
      const recent = makeLogin();
      await store.recordLogin(old, "sealed-old", A0);
      await store.recordLogin(recent, undefined, A0);
      expect(await store.logins(10, A0)).toEqual([recent, old]);
      expect(await store.logins(1, A0)).toEqual([recent]);
      expect(await store.getLogin(old.sid, A0)).toEqual(old);
      expect(await store.loginSecret(old.sid, A0)).toBe("sealed-old");
      expect(await store.loginSecret(recent.sid, A0)).toBeUndefined();
      await store.updateLoginSecret(recent.sid, "sealed-rotated", A0);
      expect(await store.loginSecret(recent.sid, A0)).toBe("sealed-rotated");
      expect(await store.getLogin("no-such-login", A0)).toBeUndefined();
      await store.updateLoginSecret("no-such-login", "x", A0);
      expect(await store.loginSecret("no-such-login", A0)).toBeUndefined();
      await store.close();
    });

    test("a login without sub keeps no sub", async () => {
      const store = await open();
      const { sub: _sub, ...anonymous } = makeLogin();
      await store.recordLogin(anonymous, undefined, A0);
      expect(await store.getLogin(anonymous.sid, A0)).toEqual(anonymous);
      await store.close();
    });

    test("the rule cap refuses with rate_limited", async () => {
      const store = await open();
      const { MAX_RULES } = await import("../../../../src/broker/rendezvous/access-store.ts");
      await Promise.all(
        Array.from({ length: MAX_RULES }, (_, i) =>
          store.addRevocation(newRule({ login: `s${i}` }, "t", A0), A0),
        ),
      );
      const error = await store.addRevocation(newRule({ login: "one-more" }, "t", A0), A0).catch((e) => e);
      expect(error).toBeInstanceOf(RendezvousError);
      expect((error as RendezvousError).code).toBe("rate_limited");
      await store.close();
    }, 60_000);
  });
}

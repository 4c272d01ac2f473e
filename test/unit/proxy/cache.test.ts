import { beforeAll, describe, expect, test } from "bun:test";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { type OpenedWrapper, WrapperCache } from "../../../src/proxy/cache.ts";
import { testKeySets } from "../../helpers/keys.ts";

const NOW = 1_800_000_000_000;
const EXP = NOW / 1000 + 60;

function entry(jti: string, exp = EXP): OpenedWrapper {
  return {
    wrapper: {
      kind: "access",
      kid: "k",
      provider: "p",
      jti,
      iat: NOW / 1000,
      exp,
      authTime: NOW / 1000,
      sid: "login",
      binding: { kind: "x5t#S256", value: "tp" },
      claims: {},
      sealed: "x",
    },
    secret: { token: new Secret(`real-${jti}`), type: "Bearer" },
  };
}

describe("WrapperCache", () => {
  let keys: KeySets;
  beforeAll(async () => {
    keys = await testKeySets();
  });

  test("serves an entry for the same wrapper and certificate only", () => {
    const cache = new WrapperCache();
    cache.set("wrapper-a", "tp-1", keys, entry("a"));
    expect(cache.get("wrapper-a", "tp-1", keys, NOW)?.wrapper.jti).toBe("a");
    expect(cache.get("wrapper-a", "tp-2", keys, NOW)).toBeUndefined();
    expect(cache.get("wrapper-b", "tp-1", keys, NOW)).toBeUndefined();
  });

  test("wrappers looked up in turn each find their own entry (the digest memo holds one wrapper)", () => {
    const cache = new WrapperCache();
    cache.set("wrapper-a", "tp-1", keys, entry("a"));
    cache.set("wrapper-b", "tp-1", keys, entry("b"));
    for (const [token, jti] of [
      ["wrapper-a", "a"],
      ["wrapper-b", "b"],
      ["wrapper-a", "a"],
      ["wrapper-a", "a"],
    ]) {
      expect(cache.get(token as string, "tp-1", keys, NOW)?.wrapper.jti).toBe(jti as string);
    }
    expect(cache.get("wrapper-a2", "tp-1", keys, NOW)).toBeUndefined();
  });

  test("never serves an entry at or past the wrapper's exp, and forgets it", () => {
    const cache = new WrapperCache();
    cache.set("w", "tp", keys, entry("a"));
    expect(cache.get("w", "tp", keys, EXP * 1000 - 1)).toBeDefined();
    expect(cache.get("w", "tp", keys, EXP * 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get("w", "tp", keys, NOW)).toBeUndefined();
  });

  test("evicts the least recently used entry beyond its bound", () => {
    const cache = new WrapperCache(2);
    cache.set("w1", "tp", keys, entry("1"));
    cache.set("w2", "tp", keys, entry("2"));
    expect(cache.get("w1", "tp", keys, NOW)).toBeDefined(); // w1 is now the most recent
    cache.set("w3", "tp", keys, entry("3"));
    expect(cache.size).toBe(2);
    expect(cache.get("w2", "tp", keys, NOW)).toBeUndefined();
    expect(cache.get("w1", "tp", keys, NOW)?.wrapper.jti).toBe("1");
    expect(cache.get("w3", "tp", keys, NOW)?.wrapper.jti).toBe("3");
  });

  test("looking up the newest entry again, then an older one, keeps the order of use", () => {
    const cache = new WrapperCache(2);
    cache.set("w1", "tp", keys, entry("1"));
    cache.set("w2", "tp", keys, entry("2"));
    expect(cache.get("w2", "tp", keys, NOW)).toBeDefined(); // already the most recent
    expect(cache.get("w1", "tp", keys, NOW)).toBeDefined(); // now w1 is
    expect(cache.get("w1", "tp", keys, NOW)).toBeDefined();
    cache.set("w3", "tp", keys, entry("3"));
    expect(cache.get("w2", "tp", keys, NOW)).toBeUndefined();
    expect(cache.get("w1", "tp", keys, NOW)?.wrapper.jti).toBe("1");
  });

  test("the same wrapper over another certificate is another entry, in either order", () => {
    const cache = new WrapperCache();
    cache.set("w", "tp1", keys, entry("1"));
    expect(cache.get("w", "tp2", keys, NOW)).toBeUndefined();
    expect(cache.get("w", "tp1", keys, NOW)?.wrapper.jti).toBe("1");
    expect(cache.get("w", "tp2", keys, NOW)).toBeUndefined();
  });

  test("new key sets empty the cache, so a withdrawn key stops working at once", async () => {
    const cache = new WrapperCache();
    cache.set("w", "tp", keys, entry("a"));
    const rotated = await testKeySets();
    expect(cache.get("w", "tp", rotated, NOW)).toBeUndefined();
    expect(cache.get("w", "tp", keys, NOW)).toBeUndefined();
  });

  test("a size of zero disables caching", () => {
    const cache = new WrapperCache(0);
    cache.set("w", "tp", keys, entry("a"));
    expect(cache.get("w", "tp", keys, NOW)).toBeUndefined();
  });
});

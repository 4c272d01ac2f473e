import { describe, expect, test } from "bun:test";
import { sourceKey } from "../../../src/core/http/address.ts";
import { createGuessLimiter } from "../../../src/web-port/shared/guess-limiter.ts";

describe("guess limiter", () => {
  test("blocks after maxMisses within the window, per client, and forgets after it", () => {
    const limiter = createGuessLimiter({ maxMisses: 3, windowMs: 1000, maxClients: 10 });
    for (let i = 0; i < 3; i += 1) {
      expect(limiter.blocked("a", 0)).toBe(false);
      limiter.miss("a", i);
    }
    expect(limiter.blocked("a", 10)).toBe(true);
    expect(limiter.blocked("b", 10)).toBe(false);
    expect(limiter.blocked("a", 1000)).toBe(false);
  });

  test("stays bounded: the oldest client is dropped when full", () => {
    const limiter = createGuessLimiter({ maxMisses: 1, windowMs: 1000, maxClients: 2 });
    limiter.miss("a", 0);
    limiter.miss("b", 0);
    limiter.miss("c", 0);
    expect(limiter.blocked("a", 1)).toBe(false);
    expect(limiter.blocked("b", 1)).toBe(true);
    expect(limiter.blocked("c", 1)).toBe(true);
  });
});

describe("sourceKey: whom misses count against", () => {
  test.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::9", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("%s → %s", (address, key) => {
    expect(sourceKey(address)).toBe(key);
  });

  test("addresses of one IPv6 /64 share one miss budget; another /64 has its own", () => {
    const limiter = createGuessLimiter({ maxMisses: 3, windowMs: 60_000, maxClients: 100 });
    for (let i = 1; i <= 3; i++) limiter.miss(`2001:db8:1:2::${i.toString(16)}`, 0);
    expect(limiter.blocked("2001:db8:1:2:dead:beef:0:1", 0)).toBe(true);
    expect(limiter.blocked("2001:db8:1:3::1", 0)).toBe(false);
  });
});

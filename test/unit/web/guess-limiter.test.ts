import { describe, expect, test } from "bun:test";
import { createGuessLimiter } from "../../../src/web/guess-limiter.ts";

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

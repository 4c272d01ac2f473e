import { describe, expect, test } from "bun:test";
import { TtlMap } from "../../../src/dev/ttl-map.ts";

describe("TtlMap", () => {
  test("take returns an entry once", () => {
    const map = new TtlMap<string>(1000, 10, () => 0);
    map.set("a", "value");
    expect(map.take("a")).toBe("value");
    expect(map.take("a")).toBeUndefined();
  });

  test("an entry is gone once its lifetime has passed", () => {
    let now = 0;
    const map = new TtlMap<string>(1000, 10, () => now);
    map.set("a", "value");
    now = 999;
    map.set("b", "value");
    now = 1000;
    expect(map.take("a")).toBeUndefined();
    expect(map.take("b")).toBe("value");
  });

  test("never holds more than its cap: expired entries go first, then the oldest", () => {
    let now = 0;
    const map = new TtlMap<number>(100, 3, () => now);
    map.set("old", 1);
    now = 50;
    map.set("b", 2);
    map.set("c", 3);
    now = 120; // "old" has expired; "b" and "c" have not
    map.set("d", 4);
    expect(map.size).toBe(3);
    expect(map.take("old")).toBeUndefined();
    map.set("e", 5); // full of live entries: the oldest live one ("b") makes room
    expect(map.size).toBe(3);
    expect(map.take("b")).toBeUndefined();
    expect([map.take("c"), map.take("d"), map.take("e")]).toEqual([3, 4, 5]);
  });

  test("setting an existing key replaces it without evicting another", () => {
    const map = new TtlMap<number>(100, 2, () => 0);
    map.set("a", 1);
    map.set("b", 2);
    map.set("a", 3);
    expect([map.take("a"), map.take("b")]).toEqual([3, 2]);
  });
});

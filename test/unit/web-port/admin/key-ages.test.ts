import { describe, expect, test } from "bun:test";
import type { KeySets } from "../../../../src/core/keys/types.ts";
import { KeyAges } from "../../../../src/web-port/admin/key-ages.ts";
import { testKeySets } from "../../../helpers/keys.ts";

const LOADED = Date.UTC(2026, 0, 1, 9);
const HOUR = 3_600_000;

describe("admin key ages: in use here since the set was loaded", () => {
  test("a page first viewed hours after start-up counts from the load, not the view", async () => {
    const keys: KeySets = { ...(await testKeySets()), loadedAt: LOADED };
    const ages = new KeyAges().list(keys, LOADED + 5 * HOUR);
    expect(ages.length).toBeGreaterThanOrEqual(2);
    for (const age of ages) expect(age.since).toBe(LOADED);
  });

  test("after a reload a new kid counts from the reload, a kept kid keeps its time", async () => {
    const first: KeySets = { ...(await testKeySets()), loadedAt: LOADED };
    const rotated = await testKeySets();
    const ages = new KeyAges();
    ages.list(first, LOADED + HOUR);
    const reloaded: KeySets = {
      ...first,
      verifiers: new Map([...rotated.verifiers, ...first.verifiers]),
      loadedAt: LOADED + 2 * HOUR,
    };
    const listed = ages.list(reloaded, LOADED + 7 * HOUR);
    const since = (kid: string) => listed.find((age) => age.kid === kid)?.since;
    for (const kid of rotated.verifiers.keys()) expect(since(kid)).toBe(LOADED + 2 * HOUR);
    for (const kid of first.verifiers.keys()) expect(since(kid)).toBe(LOADED);
  });
});

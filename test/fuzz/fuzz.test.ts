/**
 * Short runs of every fuzz target on each `bun test` (a random seed each time, printed by
 * fast-check on failure so a counterexample can be replayed with `bun run fuzz -- --seed N`).
 * The long campaign is `bun run fuzz` (scripts/fuzz.ts, ≥ 100k runs per target).
 */
import { describe, test } from "bun:test";
import { FUZZ_TARGETS } from "./targets.ts";

/** Enough to catch regressions in seconds; verifyWrapper pays for real ECDSA, so it runs fewer. */
const RUNS: Record<string, number> = {
  default: 1000,
  "verifyWrapper (any mutation of a valid wrapper)": 1000,
};

describe("fuzz (short)", () => {
  for (const target of FUZZ_TARGETS) {
    test(target.name, () => target.run(RUNS[target.name] ?? RUNS.default ?? 1000));
  }
});

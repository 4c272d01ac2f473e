/**
 * The long fuzz campaign: every target in test/fuzz/targets.ts with ≥ 100k runs (`bun run fuzz`).
 * Options: `--runs N` (default 100000), `--seed N` (replay a counterexample printed by fast-check),
 * `--only <substring>` (one target). Exits 1 on the first failing property.
 */
import { parseArgs } from "node:util";
import { FUZZ_TARGETS } from "../test/fuzz/targets.ts";

const { values } = parseArgs({
  options: { runs: { type: "string" }, seed: { type: "string" }, only: { type: "string" } },
});
const runs = Number(values.runs ?? 100_000);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || (seed !== undefined && !Number.isInteger(seed))) {
  console.error("usage: bun scripts/fuzz.ts [--runs N] [--seed N] [--only NAME]");
  process.exit(2);
}

let failed = false;
for (const target of FUZZ_TARGETS.filter((t) => values.only === undefined || t.name.includes(values.only))) {
  const started = performance.now();
  try {
    await target.run(runs, seed);
    console.log(
      `ok    ${target.name}: ${runs} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    failed = true;
    console.error(`FAIL  ${target.name}\n${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);

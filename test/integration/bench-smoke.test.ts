import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NGINX } from "../../scripts/bench/lib/nginx.ts";

/**
 * Keeps `bun run bench` working: the whole harness (upstream, nginx, the `--floor` pass-throughs,
 * `surrogate serve` with 1 and 2 workers, one load generator per target) runs for a fraction of a second per slice and must print its tables with no
 * failed request. No timing is asserted: this machine is shared and noisy.
 */
const script = join(import.meta.dir, "../../scripts/bench/run.ts");

/** `bun <args>`: what it printed and how it exited. */
async function run(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = Bun.spawn(["bun", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, code };
}

test.skipIf(!existsSync(NGINX))(
  "the benchmark harness prints its table with no errors",
  async () => {
    const { stdout, stderr, code } = await run([
      script,
      ...["--duration", "0.2", "--warmup", "0.1", "--rounds", "2", "--clients", "1,4", "--floor"],
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    for (const clients of [1, 4]) {
      for (const target of ["direct", "nginx", "bare-fetch", "bare-raw", "surrogate", "surrogate-2w"]) {
        const row = stdout.split("\n").find((line) => line.startsWith(`| ${clients} | ${target} |`));
        expect(row).toBeDefined();
        // The last column is the error count.
        expect(row?.trim().split("|").at(-2)?.trim()).toBe("0");
      }
    }
    expect(stdout).toContain("| clients | target | ÷ nginx req/s |");
    expect(stdout).toContain("no errors at any level: 0");
  },
  60_000,
);

/** Keeps the paired A/B comparison working: this checkout against itself, two short rounds. */
test("the A/B comparison of two checkouts prints its rounds and median with no failed request", async () => {
  const root = join(import.meta.dir, "../..");
  const ab = join(root, "scripts/bench/ab.ts");
  const { stdout, stderr, code } = await run([
    ab,
    root,
    root,
    "--seconds",
    "0.2",
    "--rounds",
    "2",
    "--clients",
    "2",
  ]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toMatch(/^round 2: A \d+ requests/m);
  expect(stdout).toMatch(/^median B\/A CPU per request: \d+\.\d{3}/m);
  expect(stdout).toContain("failed requests: 0");
}, 60_000);

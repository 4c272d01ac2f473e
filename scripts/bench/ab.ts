/**
 * `bun scripts/bench/ab.ts <checkout A> <checkout B> [--seconds 5] [--rounds 8] [--clients 32]`:
 * which of two builds of surrogate spends less CPU per proxied request. Both serve at the same time,
 * from one upstream, each under its own load generator, the two proxies pinned to one core and the
 * load generators and upstream to the other (`taskset`, when there are two cores or more). Whatever
 * else the machine does in a round hits both sides alike, so the ratio B/A per round is steadier
 * than two runs taken one after the other (on this shared 2-core machine, ±4 % between rounds of an
 * A/A comparison, against ±15 % and more between separate runs). Prints each round and the median.
 *
 * `A_ENV="NAME=value …"` / `B_ENV=…` set environment variables for one side only.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Driver, startDriver } from "./lib/driver.ts";
import { cpuSeconds, peakRss } from "./lib/proc.ts";
import { BODY_BYTES, type Child, spawnRole } from "./lib/roles.ts";
import type { ServeTarget } from "./lib/serve.ts";
import { prepare } from "./lib/setup.ts";

const RUN = join(import.meta.dir, "run.ts");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "8" },
    clients: { type: "string", default: "32" },
  },
});
const [rootA, rootB] = positionals.map((root) => resolve(root));
if (rootA === undefined || rootB === undefined) {
  console.error(
    "usage: bun scripts/bench/ab.ts <checkout A> <checkout B> [--seconds S] [--rounds N] [--clients C]",
  );
  process.exit(2);
}
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clients = Number(values.clients);

interface Side {
  serve: ServeTarget;
  driver: Driver;
}

/** One side: a copy of the prepared material, that checkout's `surrogate serve`, its own load driver. */
async function startSide(root: string, upstream: Child, env: string | undefined): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), "surrogate-ab-"));
  cpSync(material, dir, { recursive: true });
  const { startServe } = (await import(
    join(root, "scripts/bench/lib/serve.ts")
  )) as typeof import("./lib/serve.ts");
  const saved = { ...process.env };
  Object.assign(process.env, parseEnv(env));
  const serve = await startServe(dir, upstream.port, 1, []);
  process.env = saved;
  const { client, caPem, wrapper } = prepared;
  const file = join(dir, "load.json");
  writeFileSync(
    file,
    JSON.stringify({
      url: `https://localhost:${serve.port}/127.0.0.1:${upstream.port}/items`,
      init: {
        tls: { cert: client.certPem, key: client.keyPem, ca: caPem },
        headers: { authorization: `Bearer ${wrapper}` },
        keepalive: true,
      },
      expectBytes: BODY_BYTES,
    }),
  );
  return { serve, driver: startDriver(RUN, file) };
}

function parseEnv(text: string | undefined): Record<string, string> {
  const pairs = (text ?? "").split(" ").filter((pair) => pair.includes("="));
  return Object.fromEntries(
    pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

function pin(cpu: number, pid: number): void {
  if (availableParallelism() >= 2) Bun.spawnSync(["taskset", "-a", "-p", "-c", String(cpu), String(pid)]);
}

const material = mkdtempSync(join(tmpdir(), "surrogate-ab-material-"));
const prepared = await prepare(material);
const upstream = await spawnRole(RUN, ["upstream", material]);
const a = await startSide(rootA, upstream, process.env.A_ENV);
const b = await startSide(rootB, upstream, process.env.B_ENV);
pin(1, a.serve.pid);
pin(1, b.serve.pid);
pin(0, upstream.pid);
for (const line of Bun.spawnSync(["pgrep", "-f", `${RUN} --role driver`])
  .stdout.toString()
  .split("\n"))
  if (line.trim() !== "") pin(0, Number(line));
try {
  await Promise.all([a.driver.run(clients, 1), b.driver.run(clients, 1)]);
  const ratios: number[] = [];
  let errors = 0;
  for (let round = 0; round < rounds; round += 1) {
    const cpuA = cpuSeconds(a.serve.pid);
    const cpuB = cpuSeconds(b.serve.pid);
    const [sampleA, sampleB] = await Promise.all([
      a.driver.run(clients, seconds),
      b.driver.run(clients, seconds),
    ]);
    const perA = (1e6 * (cpuSeconds(a.serve.pid) - cpuA)) / Math.max(1, sampleA.requests);
    const perB = (1e6 * (cpuSeconds(b.serve.pid) - cpuB)) / Math.max(1, sampleB.requests);
    errors += sampleA.errors + sampleB.errors;
    ratios.push(perB / perA);
    console.log(
      `round ${round + 1}: A ${sampleA.requests} requests, ${perA.toFixed(1)} CPU µs each | B ${sampleB.requests}, ${perB.toFixed(1)} | B/A ${(perB / perA).toFixed(3)}`,
    );
  }
  const sorted = ratios.toSorted((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  console.log(`median B/A CPU per request: ${median.toFixed(3)} (below 1: B is cheaper)`);
  console.log(
    `peak RSS: A ${(peakRss(a.serve.pid) / 1e6).toFixed(0)} MB, B ${(peakRss(b.serve.pid) / 1e6).toFixed(0)} MB`,
  );
  console.log(`failed requests: ${errors}`);
} finally {
  await Promise.all([a.driver.stop(), b.driver.stop()]);
  await Promise.all([a.serve.stop(), b.serve.stop(), upstream.stop()]);
  rmSync(material, { recursive: true, force: true });
}

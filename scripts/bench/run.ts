/**
 * `bun run bench`: the proxy's cost side by side with the alternatives, in one run on one machine.
 *   direct     client → upstream (TLS, keep-alive): the floor
 *   nginx      client → nginx (mTLS, static Authorization header) → upstream: what a user would deploy
 *   surrogate  client → `surrogate serve --role proxy` (mTLS, real wrapper verified, bound, opened,
 *              swapped) → upstream; surrogate-2w: the same with --workers 2 (SO_REUSEPORT)
 *   nginx/new, surrogate/new   one request per new mTLS connection (`connection: close`): the
 *              connection set-up cost (handshake, in-code chain check); req/s = connections/s
 * At each concurrency the targets alternate in short slices (a b c a b c …) so machine drift hits all
 * three equally. The upstream, nginx and surrogate each run in their own processes, and so does each
 * target's load generator (./lib/driver.ts: keeps every target's keep-alive connections warm).
 *
 *   bun scripts/bench/run.ts [--duration 10] [--warmup 2] [--rounds 5] [--clients 1,16,64]
 *                            [--nginx-workers auto] [--profile DIR] [--floor]
 * --duration is seconds per target per concurrency (split over --rounds slices); --profile writes the
 * surrogate processes' CPU profiles (Bun --cpu-prof, one file per process) into DIR; --floor adds
 * bare-fetch and bare-raw, pass-throughs doing none of surrogate's work (./lib/bare.ts): what the
 * platform alone costs. Exits 1 if any request failed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBare } from "./lib/bare.ts";
import { type Driver, serveDriver, startDriver } from "./lib/driver.ts";
import type { LoadTarget } from "./lib/load.ts";
import { startNginx } from "./lib/nginx.ts";
import { cpuSeconds, peakRss } from "./lib/proc.ts";
import { figures, type Row, ratios, table, verdicts } from "./lib/report.ts";
import { BODY_BYTES, type Child, runUpstream, spawnRole } from "./lib/roles.ts";
import { type ServeTarget, startServe } from "./lib/serve.ts";
import { type Material, prepare } from "./lib/setup.ts";

interface Target {
  name: string;
  pid: number;
  driver: Driver;
}

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    clients: { type: "string", default: "1,16,64" },
    "nginx-workers": { type: "string", default: "auto" },
    profile: { type: "string" },
    floor: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

async function main(): Promise<void> {
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const rounds = Math.max(1, Number(values.rounds));
  const levels = (values.clients ?? "").split(",").map(Number);
  const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-"));
  const children: Array<{ stop(): Promise<void> }> = [];
  try {
    const material = await prepare(dir);
    const targets = await startTargets(material, children);
    console.log(header(duration, warmup, rounds));
    const rows: Row[] = [];
    for (const clients of levels) rows.push(...(await level(targets, clients, duration, warmup, rounds)));
    console.log(`\n${table(rows)}\n\n${ratios(rows)}\n\n${verdicts(rows).join("\n")}`);
    if (rows.some((row) => figures(row).errors > 0)) process.exitCode = 1;
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startTargets(material: Material, children: Array<{ stop(): Promise<void> }>) {
  const { dir } = material;
  const upstream = await spawnRole(import.meta.path, ["upstream", dir]);
  children.push(upstream);
  const nginx = await startNginx(
    { dir, certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key"), caFile: join(dir, "ca.pem") },
    {
      upstreamPort: upstream.port,
      authorization: material.staticAuthorization,
      workers: values["nginx-workers"] === "auto" ? "auto" : Number(values["nginx-workers"]),
    },
  );
  children.push(nginx);
  const profile = values.profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values.profile];
  const surrogates: Array<[string, ServeTarget]> = [];
  for (const workers of [1, 2]) {
    const serve = await startServe(dir, upstream.port, workers, profile);
    children.push(serve);
    surrogates.push([workers === 1 ? "surrogate" : `surrogate-${workers}w`, serve]);
  }
  const floors: Array<[string, Child]> = [];
  for (const kind of values.floor ? ["fetch", "raw"] : []) {
    const bare = await spawnRole(import.meta.path, [`bare-${kind}`, dir, String(upstream.port)], {
      SSL_CERT_FILE: join(dir, "ca.pem"),
      BENCH_AUTHORIZATION: material.staticAuthorization,
    });
    children.push(bare);
    floors.push([`bare-${kind}`, bare]);
  }
  const tls = { cert: material.client.certPem, key: material.client.keyPem, ca: material.caPem };
  const init = (headers: Record<string, string>) => ({ tls, headers, keepalive: true }) as RequestInit;
  // One request per new mTLS connection (agents that connect per call: curl in a loop, short tools).
  const fresh = (headers: Record<string, string>) =>
    ({ tls, headers: { ...headers, connection: "close" }, keepalive: false }) as RequestInit;
  const loads: Array<[string, number, LoadTarget]> = [
    ["direct", upstream.pid, at(`https://localhost:${upstream.port}/items`, init({}))],
    ["nginx", nginx.pid, at(`https://localhost:${nginx.port}/items`, init({}))],
    ...floors.map(([name, bare]): [string, number, LoadTarget] => [
      name,
      bare.pid,
      at(`https://localhost:${bare.port}/items`, init({})),
    ]),
    ...surrogates.map(([name, serve]): [string, number, LoadTarget] => [
      name,
      serve.pid,
      at(
        `https://localhost:${serve.port}/127.0.0.1:${upstream.port}/items`,
        init({ authorization: `Bearer ${material.wrapper}` }),
      ),
    ]),
    ["nginx/new", nginx.pid, at(`https://localhost:${nginx.port}/items`, fresh({}))],
    [
      "surrogate/new",
      (surrogates[0] as [string, ServeTarget])[1].pid,
      at(
        `https://localhost:${(surrogates[0] as [string, ServeTarget])[1].port}/127.0.0.1:${upstream.port}/items`,
        fresh({ authorization: `Bearer ${material.wrapper}` }),
      ),
    ],
  ];
  return loads.map(([name, pid, load]) => {
    const file = join(dir, `load-${name.replace("/", "-")}.json`);
    writeFileSync(file, JSON.stringify(load));
    const driver = startDriver(import.meta.path, file);
    children.push(driver);
    return { name, pid, driver };
  });
}

function at(url: string, init: RequestInit): LoadTarget {
  return { url, init, expectBytes: BODY_BYTES };
}

/** Warm-up for each target, then `rounds` alternated slices; CPU measured around each slice. */
async function level(targets: Target[], clients: number, duration: number, warmup: number, rounds: number) {
  const rows: Row[] = targets.map((t) => ({ clients, target: t.name, samples: [], cpu: 0, rss: 0 }));
  for (const target of targets) await target.driver.run(clients, warmup);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const row = rows[i] as Row;
      const before = cpuSeconds(target.pid);
      row.samples.push(await target.driver.run(clients, duration / rounds));
      row.cpu += cpuSeconds(target.pid) - before;
    }
  }
  for (const [i, target] of targets.entries()) (rows[i] as Row).rss = peakRss(target.pid);
  return rows;
}

function header(duration: number, warmup: number, rounds: number): string {
  return (
    `Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; per target and concurrency: ` +
    `${warmup} s warm-up, then ${duration} s in ${rounds} alternated slices`
  );
}

const [role, dir, upstreamPort] = process.argv.slice(process.argv.indexOf("--role") + 1);
if (values.role !== undefined) {
  // A child stops on SIGTERM through a normal exit, so --cpu-prof gets to write its profile.
  process.on("SIGTERM", () => process.exit(0));
  if (role === "upstream" && dir !== undefined) runUpstream(dir);
  else if (role === "driver" && dir !== undefined) await serveDriver(JSON.parse(readFileSync(dir, "utf8")));
  else if ((role === "bare-fetch" || role === "bare-raw") && dir !== undefined)
    runBare(
      dir,
      Number(upstreamPort),
      role === "bare-fetch" ? "fetch" : "raw",
      Bun.env.BENCH_AUTHORIZATION ?? "",
    );
} else {
  await main();
}

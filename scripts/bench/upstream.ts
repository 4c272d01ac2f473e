/**
 * Upstream client vs Bun's fetch: CPU per request of the proxy's upstream leg alone, without the
 * proxy around it. A Bun.serve TLS upstream answering 1 KiB runs in its own process (its CPU is not
 * counted); a measuring process, trusting the bench CA through SSL_CERT_FILE as the proxy bench does,
 * alternates slices of global fetch (called as src/proxy/forward.ts calls it) and
 * createUpstreamClient().fetch, each target warmed up first, and reports req/s, CPU µs per request
 * (process.cpuUsage: every thread, so fetch's HTTP thread counts) and the ratio client ÷ fetch.
 * Run: bun scripts/bench/upstream.ts [--seconds 5] [--concurrency 1,32]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createUpstreamClient } from "../../src/proxy/upstream/client.ts";
import { BODY_BYTES, runUpstream, spawnRole } from "./lib/roles.ts";
import { prepare } from "./lib/setup.ts";

/** Alternated slices per target and concurrency; the seconds are split between them. */
const SLICES = 5;
const WARMUP_SECONDS = 1;

type Target = "fetch" | "client";
type Call = (url: string, signal: AbortSignal) => Promise<Response>;

interface Tally {
  requests: number;
  seconds: number;
  cpuMicros: number;
  errors: number;
}

/** Headers shaped like a forwarded API call: what the proxy passes on after injecting the token. */
const headers = new Headers({
  accept: "application/json",
  "user-agent": "surrogate-bench/1",
  authorization: `Bearer gho_${"x".repeat(36)}`,
});

function callers(): Record<Target, Call> {
  const client = createUpstreamClient();
  return {
    fetch: (url, signal) =>
      fetch(url, { method: "GET", headers, body: null, redirect: "manual", decompress: false, signal }),
    client: (url, signal) => client.fetch(url, { method: "GET", headers, body: null, signal }),
  };
}

/** `concurrency` workers, each awaiting its response and whole body before the next request. */
async function slice(call: Call, url: string, concurrency: number, seconds: number): Promise<Tally> {
  const tally: Tally = { requests: 0, seconds: 0, cpuMicros: 0, errors: 0 };
  const started = performance.now();
  const until = started + seconds * 1000;
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (performance.now() < until) {
      const response = await call(url, new AbortController().signal);
      const body = await response.arrayBuffer();
      if (response.status !== 200 || body.byteLength !== BODY_BYTES) tally.errors += 1;
      tally.requests += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(cpu);
  tally.seconds = (performance.now() - started) / 1000;
  tally.cpuMicros = used.user + used.system;
  return tally;
}

function add(into: Tally, from: Tally): void {
  into.requests += from.requests;
  into.seconds += from.seconds;
  into.cpuMicros += from.cpuMicros;
  into.errors += from.errors;
}

async function measure(port: number, seconds: number, levels: number[]): Promise<void> {
  const url = `https://127.0.0.1:${port}/repos/octo/hello/issues?per_page=1`;
  const calls = callers();
  const targets: Target[] = ["fetch", "client"];
  const lines = ["| clients | target | req/s | CPU µs / req | errors |", "|---|---|---|---|---|"];
  const ratios: string[] = [
    "| clients | client ÷ fetch CPU µs / req | client ÷ fetch req/s |",
    "|---|---|---|",
  ];
  for (const concurrency of levels) {
    const totals = new Map<Target, Tally>();
    for (const target of targets) {
      await slice(calls[target], url, concurrency, WARMUP_SECONDS);
      totals.set(target, { requests: 0, seconds: 0, cpuMicros: 0, errors: 0 });
    }
    for (let round = 0; round < SLICES; round++) {
      // Alternate which goes first, so neither always inherits the other's leftovers.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        Bun.gc(true);
        add(totals.get(target) as Tally, await slice(calls[target], url, concurrency, seconds / SLICES));
      }
    }
    for (const target of targets) {
      const t = totals.get(target) as Tally;
      lines.push(
        `| ${concurrency} | ${target} | ${(t.requests / t.seconds).toFixed(0)} | ` +
          `${(t.cpuMicros / t.requests).toFixed(1)} | ${t.errors} |`,
      );
    }
    const [f, c] = [totals.get("fetch") as Tally, totals.get("client") as Tally];
    const cpuRatio = c.cpuMicros / c.requests / (f.cpuMicros / f.requests);
    const rpsRatio = c.requests / c.seconds / (f.requests / f.seconds);
    ratios.push(`| ${concurrency} | ${cpuRatio.toFixed(2)} | ${rpsRatio.toFixed(2)} |`);
  }
  console.log(`${lines.join("\n")}\n\n${ratios.join("\n")}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string" },
      seconds: { type: "string", default: "5" },
      concurrency: { type: "string", default: "1,32" },
      port: { type: "string" },
      dir: { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  if (values.role === "upstream") return runUpstream(values.dir as string);
  if (values.role === "measure")
    return measure(Number(values.port), seconds, (values.concurrency as string).split(",").map(Number));
  const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-upstream-"));
  try {
    await prepare(dir);
    const upstream = await spawnRole(import.meta.path, ["upstream", "--dir", dir]);
    try {
      console.log(
        `upstream client vs fetch: ${values.concurrency} clients, ${seconds} s per target ` +
          `in ${SLICES} alternated slices, ${BODY_BYTES} B body over TLS\n`,
      );
      // SSL_CERT_FILE is read when the process starts, hence a process of its own for the measuring.
      const child = Bun.spawn(
        [
          "bun",
          import.meta.path,
          "--role",
          "measure",
          "--port",
          String(upstream.port),
          "--seconds",
          String(seconds),
          "--concurrency",
          values.concurrency as string,
        ],
        { stdout: "inherit", stderr: "inherit", env: { ...process.env, SSL_CERT_FILE: join(dir, "ca.pem") } },
      );
      if ((await child.exited) !== 0) throw new Error("bench: the measuring process failed");
    } finally {
      await upstream.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * Soak test: one `surrogate serve --role proxy` process (as `bun run bench` starts it: real wrapper,
 * access lines to a file, SSL_CERT_FILE for the upstream CA) under constant load for minutes, its
 * resident set sampled from outside (/proc/PID/status) every second. Answers "does memory grow
 * without bound, or plateau?", which a 10-second bench slice cannot.
 *
 *   bun scripts/bench/soak.ts [--clients 64] [--seconds 240] [--every 10] [--heap [--gc-every 10]]
 *
 * --every is the report interval in seconds (one table row each). --heap runs the same CLI under a
 * sampler that forces a full GC and records JSC's heapStats() (live objects by type) every
 * --gc-every seconds, and prints the types whose counts grew most between the first and the last
 * sample. Forced collections flatten the RSS curve (that is how --gc-every 1 shows how much of the
 * peak is garbage waiting for the collector), so judge RSS itself on a run without --heap.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runCli } from "../../src/cli/run.ts";
import { serveDriver, startDriver } from "./lib/driver.ts";
import { BODY_BYTES, runUpstream, spawnRole } from "./lib/roles.ts";
import { startServe } from "./lib/serve.ts";
import { prepare } from "./lib/setup.ts";

interface HeapSample {
  at: number;
  /** Before the forced GC. */
  rss: number;
  /** JS heap bytes before the forced GC. */
  heapBefore: number;
  /** After the forced GC: live JS heap, its capacity, and memory owned by JS objects outside it. */
  heapSize: number;
  heapCapacity: number;
  extraMemorySize: number;
  /** Bytes mimalloc (the allocator for everything outside the JS heap) has committed, after the GC. */
  mimalloc: number;
  objectCount: number;
  types: Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: "string", default: "64" },
      seconds: { type: "string", default: "240" },
      every: { type: "string", default: "10" },
      heap: { type: "boolean", default: false },
      "gc-every": { type: "string", default: "10" },
    },
  });
  const clients = Number(values.clients);
  const seconds = Number(values.seconds);
  const every = Number(values.every);
  const dir = mkdtempSync(join(tmpdir(), "surrogate-soak-"));
  const heapFile = join(dir, "heap.jsonl");
  const children: Array<{ stop(): Promise<void> }> = [];
  try {
    const material = await prepare(dir);
    const upstream = await spawnRole(import.meta.path, ["upstream", dir]);
    children.push(upstream);
    const gcEveryMs = String(Number(values["gc-every"]) * 1000);
    const entry = values.heap ? ["bun", import.meta.path, "--heap-child", heapFile, gcEveryMs] : undefined;
    const serve = await startServe(dir, upstream.port, 1, [], entry);
    children.push(serve);
    const tls = { cert: material.client.certPem, key: material.client.keyPem, ca: material.caPem };
    const load = {
      url: `https://localhost:${serve.port}/127.0.0.1:${upstream.port}/items`,
      init: { tls, headers: { authorization: `Bearer ${material.wrapper}` }, keepalive: true },
      expectBytes: BODY_BYTES,
    };
    writeFileSync(join(dir, "load.json"), JSON.stringify(load));
    const driver = startDriver(import.meta.path, join(dir, "load.json"));
    children.push(driver);
    console.log(`Bun ${Bun.version}; ${clients} clients, ${seconds} s, serve pid ${serve.pid}`);
    console.log(
      "| t s | req/s | errors | RSS MB (max in interval) | RSS MB (end) | of which anon / file | peak RSS MB |",
    );
    console.log("|---|---|---|---|---|---|---|");
    console.log(`| 0 (idle) | | | | ${row(memory(serve.pid))} |`);
    const started = performance.now();
    let peakInInterval = 0;
    const sampler = setInterval(() => {
      peakInInterval = Math.max(peakInInterval, memory(serve.pid).rss);
    }, 1000);
    try {
      while ((performance.now() - started) / 1000 < seconds) {
        peakInInterval = 0;
        const sample = await driver.run(clients, every);
        const now = memory(serve.pid);
        const t = (performance.now() - started) / 1000;
        console.log(
          `| ${t.toFixed(0)} | ${(sample.requests / sample.seconds).toFixed(0)} | ${sample.errors} | ` +
            `${mb(Math.max(peakInInterval, now.rss))} | ${row(now)} |`,
        );
      }
    } finally {
      clearInterval(sampler);
    }
    if (values.heap) console.log(`\n${heapReport(heapFile)}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

interface Memory {
  rss: number;
  /** Anonymous pages (heaps, buffers) and file-backed ones (mostly the bun executable's code). */
  anon: number;
  file: number;
  hwm: number;
}

/** From /proc/PID/status (Linux), bytes. */
function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), hwm: kb("VmHWM") };
}

function row(m: Memory): string {
  return `${mb(m.rss)} | ${mb(m.anon)} / ${mb(m.file)} | ${mb(m.hwm)}`;
}

/** Heap size per sample, and the object types whose live counts grew most from first to last. */
function heapReport(file: string): string {
  const samples = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as HeapSample);
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return "no heap samples";
  const lines = [
    "| t s | RSS MB | JS heap MB before GC | after | capacity | extra | mimalloc MB | live objects |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const s of samples) {
    const sizes = [s.rss, s.heapBefore, s.heapSize, s.heapCapacity, s.extraMemorySize, s.mimalloc].map(mb);
    lines.push(`| ${((s.at - first.at) / 1000).toFixed(0)} | ${sizes.join(" | ")} | ${s.objectCount} |`);
  }
  const names = new Set([...Object.keys(first.types), ...Object.keys(last.types)]);
  const growth = [...names]
    .map((name) => [name, (last.types[name] ?? 0) - (first.types[name] ?? 0), last.types[name] ?? 0] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12);
  lines.push("", "| object type | growth first → last sample | live at last sample |", "|---|---|---|");
  for (const [name, grew, live] of growth) lines.push(`| ${name} | ${grew} | ${live} |`);
  return lines.join("\n");
}

/** The heap child: the real CLI, plus a full GC and a heapStats() line every `everyMs`. */
async function heapChild(file: string, everyMs: number, args: string[]): Promise<void> {
  const jsc = await import("bun:jsc");
  const sample = () => {
    const rss = process.memoryUsage().rss;
    const heapBefore = jsc.heapSize();
    Bun.gc(true);
    const stats = jsc.heapStats();
    const line: HeapSample = {
      at: Date.now(),
      rss,
      heapBefore,
      heapSize: stats.heapSize,
      heapCapacity: stats.heapCapacity,
      extraMemorySize: stats.extraMemorySize,
      mimalloc: jsc.memoryUsage().currentCommit,
      objectCount: stats.objectCount,
      types: stats.objectTypeCounts,
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, everyMs).unref();
  process.exitCode = await runCli(args, Bun.env);
}

const [flag, argument, everyMs] = process.argv.slice(2);
if (flag === "--heap-child" && argument !== undefined) {
  await heapChild(argument, Number(everyMs), process.argv.slice(5));
} else if (flag === "--role") {
  process.on("SIGTERM", () => process.exit(0));
  const [role, value] = process.argv.slice(3);
  if (role === "upstream" && value !== undefined) runUpstream(value);
  else if (role === "driver" && value !== undefined)
    await serveDriver(JSON.parse(readFileSync(value, "utf8")));
} else {
  await main();
}

/**
 * `bun scripts/bench/syscalls.ts [seconds] [clients]`: system calls per proxied request in one
 * `surrogate serve --role proxy` process, counted by `strace -c` on every thread of it while the
 * load generator (keep-alive, client certificate, as `bun run bench`) drives it. A count, not a
 * time: it does not depend on what else the machine runs, so it is the figure to compare between
 * builds on a shared machine. Needs strace (Debian: `apt-get install strace`) and ptrace rights.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drive } from "./lib/load.ts";
import { BODY_BYTES, spawnRole } from "./lib/roles.ts";
import { startServe } from "./lib/serve.ts";
import { prepare } from "./lib/setup.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const CLIENTS = Number(process.argv[3] ?? 16);

const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-syscalls-"));
const stops: Array<() => Promise<void>> = [];
try {
  const material = await prepare(dir);
  const upstream = await spawnRole(join(import.meta.dir, "run.ts"), ["upstream", dir]);
  stops.push(() => upstream.stop());
  const serve = await startServe(dir, upstream.port, 1, []);
  stops.push(() => serve.stop());
  const tls = { cert: material.client.certPem, key: material.client.keyPem, ca: material.caPem };
  const target = {
    url: `https://localhost:${serve.port}/127.0.0.1:${upstream.port}/items`,
    init: { tls, headers: { authorization: `Bearer ${material.wrapper}` }, keepalive: true } as RequestInit,
    expectBytes: BODY_BYTES,
  };
  await drive(target, CLIENTS, 1); // warm-up: connections, the wrapper cached, pooled upstream
  const out = join(dir, "strace.txt");
  const threads = readdirSync(`/proc/${serve.pid}/task`).flatMap((tid) => ["-p", tid]);
  const strace = Bun.spawn(["strace", "-c", "-f", "-o", out, ...threads], { stderr: "ignore" });
  await Bun.sleep(500); // attached
  const sample = await drive(target, CLIENTS, SECONDS);
  strace.kill("SIGINT");
  await strace.exited;
  const rows = summary(readFileSync(out, "utf8"));
  const total = rows.reduce((sum, [, calls]) => sum + calls, 0);
  console.log(
    `Bun ${Bun.version}; ${CLIENTS} clients, ${SECONDS} s: ${sample.requests} requests, ${sample.errors} errors`,
  );
  console.log(`system calls per request: ${(total / sample.requests).toFixed(2)}\n`);
  console.log("| system call | per request |\n|---|---|");
  for (const [name, calls] of rows.slice(0, 10))
    console.log(`| ${name} | ${(calls / sample.requests).toFixed(2)} |`);
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}

/** strace -c's table as [syscall, calls], most calls first. */
function summary(text: string): Array<[string, number]> {
  const rows: Array<[string, number]> = [];
  for (const line of text.split("\n")) {
    const columns = line.trim().split(/\s+/);
    const name = columns.at(-1);
    // % time, seconds, usecs/call, calls, [errors], syscall
    const calls = Number(columns[3]);
    if (name === undefined || name === "total" || !Number.isInteger(calls) || !/^[a-z_0-9]+$/.test(name))
      continue;
    rows.push([name, calls]);
  }
  return rows.sort((a, b) => b[1] - a[1]);
}

/**
 * `bun scripts/bench/allocations.ts [requests]`: bytes allocated on the JavaScript heap per request,
 * for each path of ./handler.ts. It runs handler.ts with the collector's own log on
 * (BUN_JSC_logGC=1) and its measured loops bracketed (BENCH_GC_MARKS=1); between two collections the
 * heap grows by exactly what was allocated, so the growths summed over a loop, divided by its
 * requests, are the bytes each request allocated (what survived and what did not alike). Memory
 * outside the JavaScript heap (socket buffers, Buffer backing stores the runtime allocates natively)
 * is not in this figure; the collections it costs are what the relay's design avoids.
 */
const requests = process.argv[2] ?? "20000";
const child = Bun.spawn(["bun", `${import.meta.dir}/handler.ts`, requests], {
  env: { ...process.env, BUN_JSC_logGC: "1", BENCH_GC_MARKS: "1" },
  stdout: "ignore",
  stderr: "pipe",
});
const log = await new Response(child.stderr).text();
if ((await child.exited) !== 0) throw new Error(`bench: handler.ts failed\n${log.slice(-2000)}`);

const START = /START \w+ (\d+)kb/;
const END = /=> (\d+)kb, p=/;
const MARK_END = /^MARK end (\d+) (.+)$/;

const rows: Array<[string, number]> = [];
let inside = false;
let allocatedKb = 0;
let lastEndKb: number | undefined;
for (const line of log.split("\n")) {
  if (line === "MARK start") {
    inside = true;
    allocatedKb = 0;
    continue;
  }
  const mark = MARK_END.exec(line);
  if (mark !== null) {
    inside = false;
    rows.push([mark[2] as string, (allocatedKb * 1024) / Number(mark[1])]);
    continue;
  }
  const start = START.exec(line);
  if (start !== null && inside && lastEndKb !== undefined) allocatedKb += Number(start[1]) - lastEndKb;
  const end = END.exec(line);
  if (end !== null) lastEndKb = Number(end[1]);
}
console.log(
  `Bun ${Bun.version}; ${requests} requests per row; JavaScript heap allocated between collections\n`,
);
console.log("| path | bytes allocated / request |\n|---|---|");
for (const [label, bytes] of rows) console.log(`| ${label} | ${Math.round(bytes)} |`);

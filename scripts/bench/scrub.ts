/**
 * Response scrubbing micro-benchmark: MB/s of a body streamed through the proxy's response path
 * with and without scrubbing, for 1 KiB and 1 MiB bodies, identity and gzip (the fallback for an
 * upstream that ignores `Accept-Encoding: identity`). Median of repeated whole-body runs.
 * Run: bun scripts/bench/scrub.ts [seconds per scenario]
 */
import { gzipSync } from "node:zlib";
import { Secret } from "../../src/core/secret.ts";
import { Scrubber } from "../../src/proxy/scrub.ts";
import { leakPatterns, leakPatternsOf } from "../../src/proxy/scrub-patterns.ts";
import { scrubResponse } from "../../src/proxy/scrub-response.ts";

const SECONDS = Number(process.argv[2] ?? 2);
const CHUNK = 16 * 1024;
const token = new Secret(`gho_${"x".repeat(36)}`);
leakPatternsOf(token);

/**
 * JSON text shaped like an API listing (ids, hashes, timestamps: gzip shrinks it about 3×, as it
 * does real answers), with the token echoed once in the middle.
 */
function bodyOf(size: number): Uint8Array<ArrayBuffer> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  const lines: string[] = [];
  for (let length = 0; length < size; ) {
    const id = random();
    const line = `{"id":${id},"sha":"${random().toString(16)}${random().toString(16)}","login":"user${id % 9973}","updated_at":"2026-0${1 + (id % 9)}-1${id % 10}T1${id % 10}:${10 + (id % 50)}:00Z","private":${id % 2 === 0}},\n`;
    lines.push(line);
    length += line.length;
  }
  const text = lines.join("").slice(0, size);
  const middle = Math.floor(size / 2);
  const withToken = `${text.slice(0, middle)}${token.reveal()}${text.slice(middle + 40)}`.slice(0, size);
  return new TextEncoder().encode(withToken);
}

function chunksOf(body: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>[] {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0; at < body.length; at += CHUNK) chunks.push(body.subarray(at, at + CHUNK));
  return chunks;
}

function streamOf(chunks: Uint8Array<ArrayBuffer>[]): ReadableStream<Uint8Array<ArrayBuffer>> {
  let next = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array> | null): Promise<number> {
  if (stream === null) return 0;
  const reader = stream.getReader();
  let total = 0;
  for (let step = await reader.read(); !step.done; step = await reader.read()) total += step.value.length;
  return total;
}

type Scenario = (chunks: Uint8Array<ArrayBuffer>[]) => Promise<number>;

const scenarios: Array<[string, Scenario, "identity" | "gzip"]> = [
  ["passthrough (stream read, no scrubbing)", (c) => drain(streamOf(c)), "identity"],
  [
    "passthrough through an identity TransformStream",
    (c) => drain(streamOf(c).pipeThrough(new TransformStream())),
    "identity",
  ],
  ["Scrubber.push alone (no streams)", async (c) => syncScrub(c), "identity"],
  ["scrubResponse, identity", (c) => scrubbed(c, "identity"), "identity"],
  [
    "gzip decode only (DecompressionStream)",
    (c) => drain(streamOf(c).pipeThrough(new DecompressionStream("gzip"))),
    "gzip",
  ],
  ["scrubResponse, gzip decoded then scanned", (c) => scrubbed(c, "gzip"), "gzip"],
];

function syncScrub(chunks: Uint8Array<ArrayBuffer>[]): number {
  const scrubber = new Scrubber(leakPatternsOf(token));
  let total = 0;
  for (const chunk of chunks) total += scrubber.push(chunk).length;
  return total + scrubber.flush().length;
}

async function scrubbed(chunks: Uint8Array<ArrayBuffer>[], coding: string): Promise<number> {
  const upstream = new Response(streamOf(chunks), { headers: { "content-encoding": coding } });
  return drain((await scrubResponse(upstream, token, false)).body);
}

/** Median MB/s of the decoded body (what the agent receives) over repeated runs. */
async function measure(
  run: Scenario,
  chunks: Uint8Array<ArrayBuffer>[],
  decodedBytes: number,
): Promise<number> {
  const rates: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  for (let i = 0; i < 20; i += 1) await run(chunks);
  while (performance.now() < until || rates.length < 20) {
    const start = Bun.nanoseconds();
    const produced = await run(chunks);
    if (produced !== decodedBytes) throw new Error(`bench: ${produced} bytes out, expected ${decodedBytes}`);
    rates.push(decodedBytes / 1e6 / ((Bun.nanoseconds() - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] ?? 0;
}

function derivationMicros(): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < 10_000; i += 1) leakPatterns(`gho_${i}${"y".repeat(36)}`);
  return (Bun.nanoseconds() - start) / 1000 / 10_000;
}

console.log(
  `Bun ${Bun.version}, ${SECONDS}s per scenario, ${CHUNK / 1024} KiB chunks, median MB/s of decoded body\n`,
);
console.log("| scenario | 1 KiB body MB/s | 1 MiB body MB/s |");
console.log("|---|---|---|");
for (const [name, run, coding] of scenarios) {
  const cells: string[] = [];
  for (const size of [1024, 1024 * 1024]) {
    const body = bodyOf(size);
    const wire = coding === "gzip" ? new Uint8Array(gzipSync(body)) : body;
    cells.push((await measure(run, chunksOf(wire), body.length)).toFixed(0));
  }
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
console.log(`\npatterns derived once per token (cached with it): ${derivationMicros().toFixed(1)} µs`);
console.log(
  `gzip ratio of the 1 MiB body: ${(gzipSync(bodyOf(1024 * 1024)).length / (1024 * 1024)).toFixed(3)}`,
);

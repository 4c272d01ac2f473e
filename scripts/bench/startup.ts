#!/usr/bin/env bun
/**
 * Start-up time: from spawning the process to its "surrogate.listening" log line (both ports accepting),
 * for the release binary and for `bun src/main.ts`, plus `surrogate version` as the floor (process
 * start alone). Median of several runs each.
 *   bun scripts/bench/startup.ts [--runs 7]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeKeySetsToDir } from "../../src/core/keys/files.ts";
import { createCa, issueCertificate } from "../../src/core/pki/issue.ts";

const root = resolve(import.meta.dir, "../..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  strict: true,
  options: { runs: { type: "string", default: "7" } },
});
const runs = Number(values.runs);

const work = await mkdtemp(join(tmpdir(), "surrogate-startup-"));
try {
  const binary = join(work, "surrogate");
  const build = Bun.spawnSync([process.execPath, "scripts/build.ts", "--outfile", binary], { cwd: root });
  if (!build.success) throw new Error(`build failed: ${build.stderr.toString()}`);
  const config = await writeServeConfig(work);

  const rows: Array<[string, number[]]> = [
    ["release binary: version", await timeRuns(() => untilExit([binary, "version"]))],
    [
      "from source: version",
      await timeRuns(() => untilExit([process.execPath, join(root, "src/main.ts"), "version"])),
    ],
    [
      "release binary: serve → listening",
      await timeRuns(() => untilListening([binary, "serve", "--config", config])),
    ],
    [
      "from source: serve → listening",
      await timeRuns(() =>
        untilListening([process.execPath, join(root, "src/main.ts"), "serve", "--config", config]),
      ),
    ],
  ];
  console.log(`start-up, median of ${runs} runs (ms)\n`);
  console.log("| what | median | min | max |\n|---|---|---|---|");
  for (const [name, samples] of rows) {
    const sorted = [...samples].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    console.log(
      `| ${name} | ${median.toFixed(0)} | ${sorted[0]?.toFixed(0)} | ${sorted.at(-1)?.toFixed(0)} |`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

async function timeRuns(once: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  return samples;
}

async function untilExit(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, { cwd: work, stdout: "ignore", stderr: "ignore" });
  await child.exited;
  return performance.now() - started;
}

/** Milliseconds until the process logs that both ports listen; then it is stopped with SIGTERM. */
async function untilListening(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, {
    cwd: work,
    stdout: "pipe",
    stderr: "inherit",
    env: { PATH: process.env.PATH },
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"surrogate.listening"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`exited before listening:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const elapsed = performance.now() - started;
  child.kill("SIGTERM");
  await child.exited;
  return elapsed;
}

/** A complete serve configuration on loopback with a static provider: no identity provider to discover. */
async function writeServeConfig(dir: string): Promise<string> {
  const ca = await createCa({ commonName: "startup bench CA" });
  const server = await issueCertificate(ca, {
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    usage: "server",
  });
  await writeFile(join(dir, "ca.pem"), ca.certPem);
  await writeFile(join(dir, "server.pem"), server.certPem);
  await writeFile(join(dir, "server.key"), server.keyPem);
  await writeKeySetsToDir(join(dir, "keys"), "ES256");
  const path = join(dir, "surrogate.toml");
  await writeFile(
    path,
    `issuer = "http://127.0.0.1:18180"
[web]
listen = "127.0.0.1:18180"
[agent]
listen = "127.0.0.1:18543"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
[providers.vault]
kind = "static"
upstreams = ["api.example.com"]
`,
  );
  return path;
}

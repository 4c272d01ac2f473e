import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { freePorts } from "../helpers/ports.ts";

const root = resolve(import.meta.dir, "../..");
let work = "";
let binary = "";

function run(argv: string[], cwd: string) {
  const result = Bun.spawnSync(argv, { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Reads a process stream until `marker` has appeared; returns everything read. */
async function readUntil(stream: ReadableStream<Uint8Array>, marker: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(marker)}:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-build-"));
  binary = join(work, "bin", "surrogate");
  const build = run([process.execPath, "scripts/build.ts", "--outfile", binary], root);
  expect(build.stderr).toBe("");
  expect(build.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the release binary", () => {
  test("runs `version` from an empty directory with the embedded version and commit", async () => {
    const empty = join(work, "empty");
    await mkdir(empty);
    const result = run([binary, "version"], empty);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^surrogate ${packageJson.version.replaceAll(".", "\\.")} \\(([0-9a-f]{12}|unknown); bun \\d+\\.\\d+\\.\\d+\\)\\n$`,
      ),
    );
    expect(result.stdout).not.toContain("(source;");
  });

  test("ignores bunfig.toml and .env in its working directory", async () => {
    const hostile = join(work, "hostile");
    await mkdir(hostile);
    await writeFile(join(hostile, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    await writeFile(join(hostile, "preload.ts"), 'console.log("PRELOADED", process.env.FROM_DOTENV);\n');
    await writeFile(join(hostile, ".env"), "FROM_DOTENV=loaded\n");
    const result = run([binary, "version"], hostile);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("PRELOADED");
    expect(result.stdout).toStartWith(`surrogate ${packageJson.version} (`);
  });

  test("runs `dev` from an empty directory: pages, htmx and CSS come from inside the binary", async () => {
    const empty = join(work, "empty-dev");
    await mkdir(empty);
    const [web, agent, idp, upstream] = freePorts(4);
    const ports = ["--web-port", web, "--agent-port", agent, "--idp-port", idp, "--upstream-port", upstream];
    const dev = Bun.spawn([binary, "dev", ...ports.map(String)], {
      cwd: empty,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const banner = await readUntil(dev.stderr, "Stop with Ctrl-C");
      // The printed commands call the binary itself, not `bun src/main.ts`.
      expect(banner).toContain(`${binary} login demo`);
      const device = await fetch(`http://127.0.0.1:${web}/device`);
      expect(device.status).toBe(200);
      const html = await device.text();
      const assets = [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1] ?? "");
      expect(assets.some((path) => path.includes("htmx"))).toBe(true);
      expect(assets.some((path) => path.includes(".css"))).toBe(true);
      for (const path of assets) {
        const asset = await fetch(`http://127.0.0.1:${web}${path}`);
        expect(asset.status).toBe(200);
        expect((await asset.text()).length).toBeGreaterThan(100);
      }
      expect((await fetch(`http://127.0.0.1:${web}/healthz`)).status).toBe(200);
    } finally {
      dev.kill("SIGINT");
    }
    expect(await dev.exited).toBe(0);
  });

  test("an unknown command exits 2 with usage on stderr", () => {
    const result = run([binary, "nonsense"], work);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Usage: surrogate <command>");
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };

const root = resolve(import.meta.dir, "../..");
let work = "";
let binary = "";

function run(argv: string[], cwd: string) {
  const result = Bun.spawnSync(argv, { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
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

  test("an unknown command exits 2 with usage on stderr", () => {
    const result = run([binary, "nonsense"], work);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Usage: surrogate <command>");
  });
});

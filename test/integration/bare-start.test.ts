/**
 * The README's demo command on a machine with only npm: `scripts/dev` in a fresh copy of the
 * repository (no node_modules), with no `bun` on PATH. npm is a stand-in that "installs" Bun by
 * linking this Bun into the directory npm would use (the test has no registry to download from);
 * everything after that is real: `bun install --frozen-lockfile` into the copy, then `surrogate
 * dev` starting all four servers and printing its banner. (`scripts/test` is proven by CI itself:
 * .ci/run calls it in a fresh clone on a bare machine.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePorts } from "../helpers/ports.ts";
import { TextCollector } from "../helpers/text-collector.ts";

const ROOT = join(import.meta.dir, "../..");
/** What the scripts and `bun install` call besides bun and npm. */
const TOOLS = ["sh", "dirname", "id", "touch", "cat", "env", "uname", "cut", "mkdir", "rm", "ln"];

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-bare-"));
  // A fresh clone of the working tree as it would be committed: tracked and new files, nothing ignored.
  const listed = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
  });
  const copy = join(work, "repo");
  for (const name of listed.stdout
    .toString()
    .split("\0")
    .filter((entry) => entry !== "")) {
    const source = Bun.file(join(ROOT, name));
    if (!(await source.exists())) continue;
    await mkdir(dirname(join(copy, name)), { recursive: true });
    await Bun.write(join(copy, name), source);
    const mode = (await source.stat()).mode;
    await chmod(join(copy, name), mode & 0o777);
  }
  // PATH: the basic tools, npm (the stand-in), and no bun.
  const system = join(work, "system");
  await mkdir(system);
  for (const tool of TOOLS) {
    const found = Bun.which(tool);
    if (found !== null) await symlink(found, join(system, tool));
  }
  const npm = join(system, "npm");
  await Bun.write(
    npm,
    `#!/bin/sh
echo "$*" >> ${JSON.stringify(join(work, "npm-calls"))}
prefix=${JSON.stringify(system)}
while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix="$2/bin" && mkdir -p "$prefix"; shift; done
ln -sf ${JSON.stringify(process.execPath)} "$prefix/bun"
`,
  );
  await chmod(npm, 0o755);
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

test("scripts/dev in a fresh clone with only npm: installs Bun and the packages, then runs the demo", async () => {
  const [web, agent, idp, upstream] = freePorts(4);
  const ports = ["--web-port", web, "--agent-port", agent, "--idp-port", idp, "--upstream-port", upstream];
  const child = Bun.spawn(
    [join(work, "repo", "scripts", "dev"), "--dir", join(work, "ws"), ...ports.map(String)],
    {
      cwd: work,
      env: {
        PATH: join(work, "system"),
        HOME: process.env.HOME ?? work,
        // The packages come from Bun's cache (no registry needed when it holds them).
        ...(process.env.BUN_INSTALL_CACHE_DIR
          ? { BUN_INSTALL_CACHE_DIR: process.env.BUN_INSTALL_CACHE_DIR }
          : {}),
      },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const stderr = new TextCollector(child.stderr);
  void new TextCollector(child.stdout);
  try {
    await stderr.waitFor(/In a second terminal:/);
    expect(stderr.text).toContain("setup: installing Bun 1.4.5 with npm");
    expect(stderr.text).toContain("setup: installing packages (bun install --frozen-lockfile)");
    expect(stderr.text).toContain(`consent pages: http://127.0.0.1:${web}/device`);
    expect(await readFile(join(work, "npm-calls"), "utf8")).toMatch(/^install -g .*bun@1\.4\.5\n$/);
    expect((await fetch(`http://127.0.0.1:${web}/healthz`)).status).toBe(200);
  } finally {
    child.kill("SIGINT");
    await child.exited;
  }
}, 120_000);

/**
 * Every recipe of docs/agents.md and the README's `surrogate run` block, as written. Blocks whose info string says `companion` run here
 * (doc-snippets.test.ts skips them: they say `no-run` there): `file=NAME` blocks are written to the
 * working directory first, then each `sh` block runs with `surrogate` on PATH as this checkout.
 * `api.github.com` and `api.openai.com` become the recording TLS upstream, `github.com` a git
 * server that requires the Basic credential the github profile injects. Each recipe must exit 0,
 * and every request it caused upstream must carry the real token. The `gh` recipe runs in gh.test.ts
 * (Go never proxies a loopback host, so it cannot be pointed at 127.0.0.1 as these are).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type CompanionWorld, REAL_TOKEN, startCompanionWorld } from "../../helpers/companion.ts";
import { type Block, companionBlocks } from "../../helpers/companion-recipes.ts";
import { type GitServer, startGitServer } from "../../helpers/git-server.ts";
import { testPki } from "../../helpers/pki.ts";
import { freePort } from "../../helpers/ports.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const DOC = join(ROOT, "docs/agents.md");
const README = join(ROOT, "README.md");
const UNIT = join(ROOT, "scripts/systemd/surrogate-agent.service");

const IDENTITY = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

let world: CompanionWorld;
let git: GitServer;
let gitRoot: string;
let work: string;
let bin: string;
let blocks: Block[];
let readmeDir: string;
const RECIPE_TIMEOUT_MS = 120_000;
/** Read when the file loads: one test is declared per recipe. */
const RECIPES = [
  ...companionBlocks(readFileSync(DOC, "utf8"), "docs/agents.md"),
  ...companionBlocks(readFileSync(README, "utf8"), "README.md"),
];

function hosts(code: string): string {
  return code
    .replaceAll("api.github.com", `127.0.0.1:${world.upstream.port}`)
    .replaceAll("api.openai.com", `127.0.0.1:${world.upstream.port}`)
    .replaceAll("github.com", `127.0.0.1:${git.port}`);
}

async function sh(code: string, env: Record<string, string> = {}, cwd = work) {
  const child = Bun.spawn(["bash", "-e", "-c", code], {
    cwd,
    env: {
      PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: work,
      ...IDENTITY,
      ...world.brokerEnv(),
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code_] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code: code_, stdout, stderr };
}

beforeAll(async () => {
  const pki = await testPki();
  gitRoot = await mkdtemp(join(tmpdir(), "surrogate-recipes-git-"));
  git = await startGitServer({
    root: gitRoot,
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    user: "x-access-token",
    password: REAL_TOKEN,
  });
  world = await startCompanionWorld((port) => [
    {
      name: "github",
      kind: "github",
      upstreams: [`127.0.0.1:${port}`, `127.0.0.1:${git.port}`],
      gitInject: "Authorization: Basic {basic:x-access-token}",
    },
    { name: "openai", kind: "static", upstreams: [`127.0.0.1:${port}`] },
  ]);
  await world.writeWrapper("github");
  await world.writeWrapper("openai");
  work = join(world.dir, "work");
  bin = join(world.dir, "bin");
  await mkdir(work, { recursive: true });
  await mkdir(bin, { recursive: true });
  // `surrogate` is this checkout; `python3` is Debian's (it has requests and httpx); the recipes'
  // default token directory is the world's.
  await Bun.write(
    join(bin, "surrogate"),
    `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "src/main.ts")} "$@"\n`,
  );
  await chmod(join(bin, "surrogate"), 0o755);
  await symlink("/usr/bin/python3", join(bin, "python3"));
  // Packages the recipes import resolve from the checkout's node_modules.
  await symlink(join(ROOT, "node_modules"), join(work, "node_modules"));
  const seed = join(world.dir, "seed");
  const seedCommands = `git init -q -b main ${seed} && cd ${seed} && echo hello > README && git add README && git commit -qm first && git clone -q --bare ${seed} ${join(gitRoot, "octo/project.git")} && git -C ${join(gitRoot, "octo/project.git")} config http.receivepack true`;
  const seeded = await sh(seedCommands);
  if (seeded.code !== 0) throw new Error(seeded.stderr);
  blocks = RECIPES;
  readmeDir = join(work, "readme");
  await mkdir(readmeDir, { recursive: true });
  await symlink(join(ROOT, "node_modules"), join(readmeDir, "node_modules"));
  for (const block of blocks.filter((b) => b.info.some((w) => w.startsWith("file=")))) {
    const name = block.info.find((w) => w.startsWith("file="))?.slice(5) ?? "";
    for (const dir of [work, readmeDir]) await Bun.write(join(dir, name), hosts(block.code));
  }
  // XDG_CONFIG_HOME/surrogate/tokens is the default token directory: point it at the world's.
  await mkdir(join(work, ".config", "surrogate"), { recursive: true });
  await symlink(world.tokens, join(work, ".config", "surrogate", "tokens"));
});

afterAll(async () => {
  await git.stop();
  await world.close();
  await rm(gitRoot, { recursive: true, force: true });
});

/** Every upstream request after `from` carried the real token (Bearer, or Basic for git). */
function expectOnlyRealToken(fromUpstream: number, fromGit: number): void {
  const upstream = world.upstream.requests.slice(fromUpstream);
  const gitSeen = git.authorizations.slice(fromGit);
  expect(upstream.length + gitSeen.length).toBeGreaterThan(0);
  for (const request of upstream) expect(request.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
  const basic = `Basic ${Buffer.from(`x-access-token:${REAL_TOKEN}`).toString("base64")}`;
  for (const value of gitSeen) expect(value).toBe(basic);
}

describe("docs/agents.md recipes", () => {
  test("the doc has the recipes this suite expects", () => {
    const commands = blocks.filter((b) => b.info[0] === "sh").map((b) => b.code);
    for (const tool of [
      "-- curl",
      "-- git clone",
      "-- git push",
      "-- python3",
      "-- bun app.ts",
      "-- node",
      "-- bun openai.ts",
      "surrogate agent",
    ]) {
      expect(commands.some((code) => code.includes(tool))).toBe(true);
    }
    expect(blocks.some((b) => b.info.includes("mcp"))).toBe(true);
  });

  // One test per recipe, in the documents' order (the git push recipe follows its clone); each
  // starts `surrogate run` one or more times, which takes seconds on a loaded machine.
  for (const block of RECIPES.filter(
    (b) => b.info[0] === "sh" && !b.info.includes("agent") && !b.info.includes("gh"),
  )) {
    test(
      `${block.where}:${block.line} ${block.code.split("\n")[0]}`,
      async () => {
        const before = { upstream: world.upstream.requests.length, git: git.authorizations.length };
        const result = await sh(hosts(block.code), {}, block.where === "README.md" ? readmeDir : work);
        if (result.code !== 0) throw new Error(`exited ${result.code}:\n${result.stderr}`);
        expect(result.stdout).not.toContain(REAL_TOKEN);
        expectOnlyRealToken(before.upstream, before.git);
        expect(git.refused).toBe(0);
      },
      RECIPE_TIMEOUT_MS,
    );
  }

  test(
    "the MCP client configuration: stdin and stdout stay the server's JSON-RPC",
    async () => {
      const block = blocks.find((b) => b.info.includes("mcp"));
      const config = JSON.parse(block?.code ?? "{}") as {
        mcpServers: Record<string, { command: string; args: string[] }>;
      };
      const server = Object.values(config.mcpServers)[0];
      if (server === undefined) throw new Error("no MCP server in docs/agents.md");
      // A minimal stdio MCP server: one tool that calls the API with plain fetch.
      await Bun.write(
        join(work, "server.ts"),
        hosts(`
for await (const line of console) {
  const message = JSON.parse(line);
  if (message.method === "initialize") {
    console.log(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "t", version: "1" } } }));
  } else if (message.method === "tools/call") {
    const response = await fetch("https://api.github.com/user");
    console.log(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: String(response.status) }] } }));
    process.exit(0);
  }
}
`),
      );
      const before = world.upstream.requests.length;
      const child = Bun.spawn([server.command, ...server.args], {
        cwd: work,
        env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: work, ...world.brokerEnv() },
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} })}\n`);
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "user", arguments: {} } })}\n`,
      );
      child.stdin.flush();
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const replies = stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(replies.map((reply) => reply.id)).toEqual([1, 2]);
      expect(replies[1].result.content[0].text).toBe("200");
      expectOnlyRealToken(before, git.authorizations.length);
    },
    RECIPE_TIMEOUT_MS,
  );

  test(
    "the agent runtime recipe (surrogate agent, tools sourcing its env file)",
    async () => {
      const block = blocks.find((b) => b.info.includes("agent"));
      const runtime = join(world.dir, "runtime");
      await mkdir(runtime, { recursive: true, mode: 0o700 });
      const before = world.upstream.requests.length;
      const code = hosts(block?.code ?? "").replace("127.0.0.1:8480", `127.0.0.1:${freePort()}`);
      const result = await sh(code, { XDG_RUNTIME_DIR: runtime });
      expect(result.stderr).toContain("surrogate agent: listening on 127.0.0.1:");
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(REAL_TOKEN);
      expectOnlyRealToken(before, git.authorizations.length);
    },
    RECIPE_TIMEOUT_MS,
  );

  test(
    "the systemd user unit's ExecStart, as written, serves a runtime that sources its env file",
    async () => {
      const unit = await readFile(UNIT, "utf8");
      const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
      expect(execStart).toStartWith("/usr/local/bin/surrogate agent ");
      const runtime = join(world.dir, "unit-runtime");
      await mkdir(join(runtime, "surrogate"), { recursive: true, mode: 0o700 });
      const command = execStart
        .replace("/usr/local/bin/surrogate", "surrogate")
        .replaceAll("%t", runtime)
        .replace("127.0.0.1:8480", `127.0.0.1:${freePort()}`);
      const before = world.upstream.requests.length;
      const result = await sh(
        `${command} & until [ -e ${runtime}/surrogate/proxy-url ]; do sleep 0.1; done
set -a; . ${runtime}/surrogate/env; set +a
curl -sS -o /dev/null -w '%{http_code}' ${hosts("https://api.github.com/user")}
kill $!`,
      );
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("200");
      expectOnlyRealToken(before, git.authorizations.length);
    },
    RECIPE_TIMEOUT_MS,
  );
});

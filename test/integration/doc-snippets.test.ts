/**
 * Every client snippet in README.md and docs/ runs, as written, against a live instance.
 *
 * Which fenced blocks run (the info string after the backticks decides; add a doc, it is covered):
 *   ```python            python3 (Debian's, with requests and httpx)
 *   ```js / ```mjs       node;  ```js bun / ```ts: bun
 *   ```sh / ```bash      only when its first command is `curl`, or the info string says `run`
 *   `no-run` anywhere in the info string skips a block (one that needs a person, e.g. the README's
 *   openid-client device flow, which test/integration/standard-client.test.ts runs with approval).
 * `sh run` blocks are recipes: they run first, in order, in one directory (the openssl recipe of
 * docs/operations.md makes the CA, server and agent certificates the others then use). Client
 * snippets run from that directory with `agent.pem`, `agent.key`, `ca.pem` and `$WRAPPER`; each
 * must exit 0 and bring the recording upstream exactly one request carrying the real token.
 * Placeholders: `broker.example.com` becomes localhost, and the upstream host after
 * `https://broker.example.com:8443/` becomes the recording upstream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { writeKeySetsToDir } from "../../src/core/keys/files.ts";
import { loadKeySets } from "../../src/core/keys/load.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const ROOT = join(import.meta.dir, "../..");
const REAL_TOKEN = `snippet-real-token-${crypto.randomUUID()}`;
const AGENT_ID = "spiffe://example.org/agents/demo";

type Runner = "python" | "node" | "bun" | "sh";

interface Snippet {
  where: string;
  runner: Runner;
  recipe: boolean;
  code: string;
}

function markdownFiles(): string[] {
  const docs = join(ROOT, "docs");
  const inDocs = readdirSync(docs, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(docs, name));
  return [join(ROOT, "README.md"), ...inDocs.sort()];
}

/** Fenced blocks (``` at any indentation, so blocks inside list items count too). */
function fencedBlocks(file: string): { info: string; code: string; line: number }[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks: { info: string; code: string; line: number }[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const open = /^(\s*)```(.*)$/.exec(lines[index] ?? "");
    if (open === null) continue;
    const indent = open[1]?.length ?? 0;
    const start = index;
    const body: string[] = [];
    for (index += 1; index < lines.length && !/^\s*```\s*$/.test(lines[index] ?? ""); index += 1) {
      body.push((lines[index] ?? "").slice(indent));
    }
    blocks.push({ info: (open[2] ?? "").trim(), code: body.join("\n"), line: start + 1 });
  }
  return blocks;
}

function runnerOf(info: string, code: string): { runner: Runner; recipe: boolean } | undefined {
  const words = info.split(/\s+/);
  if (words.includes("no-run")) return undefined;
  const [language] = words;
  if (language === "python" || language === "py") return { runner: "python", recipe: false };
  if (language === "ts" || ((language === "js" || language === "mjs") && words.includes("bun")))
    return { runner: "bun", recipe: false };
  if (language === "js" || language === "mjs" || language === "javascript")
    return { runner: "node", recipe: false };
  if (language !== "sh" && language !== "bash" && language !== "shell") return undefined;
  if (words.includes("run")) return { runner: "sh", recipe: true };
  const first = code.split("\n").find((line) => line.trim() !== "" && !line.trim().startsWith("#"));
  return first?.trim().startsWith("curl ") ? { runner: "sh", recipe: false } : undefined;
}

const snippets: Snippet[] = markdownFiles().flatMap((file) =>
  fencedBlocks(file).flatMap(({ info, code, line }) => {
    const kind = runnerOf(info, code);
    return kind === undefined ? [] : [{ where: `${relative(ROOT, file)}:${line}`, code, ...kind }];
  }),
);
const recipes = snippets.filter((snippet) => snippet.recipe);
const clients = snippets.filter((snippet) => !snippet.recipe);

/** Debian's interpreter has python3-requests and python3-httpx; a PATH python3 may not. */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

let dir: string;
let upstream: Upstream;
let running: RunningSurrogate;
let wrapper: string;

function placeholders(code: string): string {
  return code
    .replace(
      /https:\/\/broker\.example\.com:8443\/[A-Za-z0-9.-]+(?::\d+)?/g,
      `https://localhost:${running.agentPort}/127.0.0.1:${upstream.port}`,
    )
    .replaceAll("broker.example.com", "localhost");
}

async function run(snippet: Snippet, code: string): Promise<{ code: number; output: string }> {
  const files: Record<Runner, string> = { python: "s.py", node: "s.mjs", bun: "s.ts", sh: "s.sh" };
  const file = join(dir, files[snippet.runner]);
  await Bun.write(file, code);
  const command: Record<Runner, string[]> = {
    python: [PYTHON, file],
    node: ["node", file],
    bun: [process.execPath, file],
    sh: ["sh", "-e", file],
  };
  const child = Bun.spawn(command[snippet.runner], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, WRAPPER: wrapper ?? "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exit] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code: exit, output: `${stdout}${stderr}` };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "surrogate-snippets-"));
  // Recipes need no instance (placeholders in them are names only).
  running = { agentPort: 0 } as RunningSurrogate;
  upstream = await startUpstream();
  for (const recipe of recipes) {
    const result = await run(recipe, placeholders(recipe.code));
    if (result.code !== 0) throw new Error(`${recipe.where} failed:\n${result.output}`);
  }
  const keys = await writeKeySetsToDir(join(dir, "keys"));
  const config = await parseConfig(
    `issuer = "https://broker.snippets.test"
[web]
listen = "127.0.0.1:0"
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
[keys]
signing = "file:${keys.signingPath}"
encryption = "file:${keys.encryptionPath}"
[providers.github]
kind = "static"
upstreams = ["http://127.0.0.1:${upstream.port}"]
[[policy]]
workload = "spiffe://example.org/agents/*"
providers = ["github"]
`,
    {},
    { baseDir: dir },
  );
  running = await startSurrogate(config, { env: {}, logger: createMemoryLogger() });
  const agentDer = new Uint8Array(
    Buffer.from(readFileSync(join(dir, "agent.pem"), "utf8").replace(/-----[^-]+-----|\s/g, ""), "base64"),
  );
  const keySets = await loadKeySets(
    { signing: `file:${keys.signingPath}`, encryption: `file:${keys.encryptionPath}` },
    {},
  );
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: "github",
      binding: { kind: "x5t#S256", value: thumbprintOf(agentDer) },
      secret: { token: new Secret(REAL_TOKEN), type: "Bearer" },
      claims: { sub: AGENT_ID },
    },
    keySets,
    { issuer: "https://broker.snippets.test", tokenTtl: 3600, now: Date.now() },
  );
  wrapper = minted.token;
}, 60_000);

afterAll(async () => {
  await running?.stop?.();
  await upstream?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("documentation snippets", () => {
  test("there is a certificate recipe and client snippets in python, node, bun and curl", () => {
    expect(recipes.length).toBeGreaterThan(0);
    const runners = new Set(clients.map((snippet) => snippet.runner));
    for (const runner of ["python", "node", "bun", "sh"] as const) expect(runners).toContain(runner);
    for (const file of ["ca.pem", "server.pem", "server.key", "agent.pem", "agent.key"]) {
      expect(existsSync(join(dir, file))).toBe(true);
    }
  });

  test.each(clients.map((snippet) => [`${snippet.where} (${snippet.runner})`, snippet] as const))(
    "%s reaches the upstream through the proxy with the real token",
    async (_name, snippet) => {
      const before = upstream.requests.length;
      const result = await run(snippet, placeholders(snippet.code));
      expect({
        where: snippet.where,
        code: result.code,
        output: result.code === 0 ? "" : result.output,
      }).toEqual({ where: snippet.where, code: 0, output: "" });
      expect(upstream.requests.length).toBe(before + 1);
      expect(upstream.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
      expect(result.output).not.toContain(REAL_TOKEN);
    },
    30_000,
  );
});

/**
 * The issue's done-line as written: `surrogate run --provider github -- gh api user`, with the real
 * `gh` (Debian's package; scripts/setup.sh installs it), against a recording TLS upstream that
 * stands in for api.github.com. gh asks for https://api.github.com/user, so Go sends it through
 * HTTPS_PROXY (Go never proxies a request whose host is a loopback address, which is why this
 * cannot use 127.0.0.1 as the other recipes do). Only the proxy's last hop needs the name to reach
 * the upstream: its fetch connects to the upstream's port on 127.0.0.1 and still verifies the
 * certificate for api.github.com (SNI and name check), as a resolver entry would make it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { chmod, mkdir, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { profileFor } from "../../../src/broker/providers/profiles.ts";
import type { ProviderConfig } from "../../../src/core/config/types.ts";
import { issueCertificate } from "../../../src/core/pki/issue.ts";
import {
  type CompanionWorld,
  REAL_TOKEN,
  startCompanionWorld,
  surrogateProcess,
} from "../../helpers/companion.ts";
import { companionBlocks } from "../../helpers/companion-recipes.ts";
import { testPki } from "../../helpers/pki.ts";
import { startUpstream, type Upstream } from "../../helpers/upstream.ts";

const GH = Bun.which("gh");
const API = "api.github.com";
const JWS = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
const TIMEOUT_MS = 120_000;
const ROOT = resolve(import.meta.dir, "../../..");
const RECIPE = companionBlocks(readFileSync(join(ROOT, "docs/agents.md"), "utf8"), "docs/agents.md").find(
  (block) => block.info.includes("gh"),
);

if (GH === null) {
  console.warn("gh.test.ts: SKIPPED: no `gh` on PATH (Debian: apt-get install gh; scripts/setup.sh does it)");
}

let world: CompanionWorld;
let github: Upstream;

/** The proxy's fetch with one name resolved to a local port: the TLS name stays the URL's host. */
function resolving(name: string, port: number): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit & { tls?: Record<string, unknown> }) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.host !== name) return fetch(input, init);
    url.host = `127.0.0.1:${port}`;
    const headers = new Headers(init?.headers);
    headers.set("host", name);
    return fetch(url, { ...init, headers, tls: { ...init?.tls, serverName: name } } as RequestInit);
  }) as typeof fetch;
}

beforeAll(async () => {
  if (GH === null) return;
  const pki = await testPki();
  const certificate = await issueCertificate(pki.ca, { usage: "server", commonName: API, dnsNames: [API] });
  github = await startUpstream({ tls: { certPem: certificate.certPem, keyPem: certificate.keyPem } });
  // The github profile as the broker resolves it: its upstreams and its injection templates.
  const profile = profileFor({ kind: "github" } as ProviderConfig, "github");
  world = await startCompanionWorld(
    () => [
      {
        name: "github",
        kind: "github",
        upstreams: profile.upstreams,
        inject: profile.inject,
        ...(profile.gitInject === undefined ? {} : { gitInject: profile.gitInject }),
      },
    ],
    { fetch: resolving(API, github.port) },
  );
  await world.writeWrapper("github");
  // For the recipe as written: `surrogate` is this checkout, and the default token directory
  // (~/.config/surrogate/tokens) is the world's.
  await mkdir(join(world.dir, "bin"));
  await Bun.write(
    join(world.dir, "bin", "surrogate"),
    `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "src/main.ts")} "$@"\n`,
  );
  await chmod(join(world.dir, "bin", "surrogate"), 0o755);
  await mkdir(join(world.dir, "home", ".config", "surrogate"), { recursive: true });
  await symlink(world.tokens, join(world.dir, "home", ".config", "surrogate", "tokens"));
});

/** gh keeps its own configuration in the world's directory, and checks for no updates. */
function ghEnv(): Record<string, string> {
  return { GH_CONFIG_DIR: join(world.dir, "gh"), GH_NO_UPDATE_NOTIFIER: "1" };
}

afterAll(async () => {
  if (GH === null) return;
  await world.close();
  await github.stop();
});

describe.skipIf(GH === null)("gh under surrogate run", () => {
  test(
    "surrogate run --provider github -- gh api user: GitHub sees the real token, gh never has it",
    async () => {
      const before = github.requests.length;
      // The child records its own environment on stderr, then becomes gh.
      const result = await surrogateProcess(
        [
          "run",
          "--tokens",
          world.tokens,
          "--provider",
          "github",
          "--",
          "sh",
          "-c",
          "env >&2; exec gh api user",
        ],
        { ...world.brokerEnv(), ...ghEnv() },
      ).done;
      if (result.code !== 0) throw new Error(`exited ${result.code}:\n${result.stderr}`);
      const seen = github.requests.slice(before).filter((request) => request.path === "/user");
      expect(seen).toHaveLength(1);
      expect(seen[0]?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
      expect(seen[0]?.headers.get("host")).toBe(API);
      expect(seen[0]?.headers.get("user-agent")).toStartWith("GitHub CLI ");
      // gh printed GitHub's answer (the upstream echoes what it saw; the proxy masks the token).
      expect(JSON.parse(result.stdout).path).toBe("/user");
      expect(result.stdout).not.toContain(REAL_TOKEN);
      // gh's environment: a placeholder GH_TOKEN, no wrapper, no real token, no broker settings.
      const env = result.stderr;
      expect(env).toMatch(/^GH_TOKEN=./m);
      expect(env).toMatch(/^HTTPS_PROXY=http:\/\/surrogate:[^@]+@127\.0\.0\.1:\d+$/m);
      expect(env).not.toContain(REAL_TOKEN);
      expect(env).not.toMatch(JWS);
      expect(env).not.toMatch(/^SURROGATE_(BROKER|CERT|KEY|CA)=/m);
    },
    TIMEOUT_MS,
  );

  test(
    "the docs/agents.md gh recipe, as written",
    async () => {
      expect(RECIPE?.code).toBe("surrogate run --provider github -- gh api user");
      const before = github.requests.length;
      const child = Bun.spawn(["bash", "-e", "-c", RECIPE?.code ?? "false"], {
        cwd: world.dir,
        env: {
          PATH: `${join(world.dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
          HOME: join(world.dir, "home"),
          ...world.brokerEnv(),
          ...ghEnv(),
        },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      if (code !== 0) throw new Error(`exited ${code}:\n${stderr}`);
      const seen = github.requests.slice(before);
      expect(seen.map((request) => request.path)).toEqual(["/user"]);
      expect(seen[0]?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
      expect(JSON.parse(stdout).path).toBe("/user");
      expect(stdout).not.toContain(REAL_TOKEN);
    },
    TIMEOUT_MS,
  );
});

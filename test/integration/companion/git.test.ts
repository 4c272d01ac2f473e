/**
 * git clone and push over HTTPS through `surrogate run`: git http-backend behind a server that
 * requires `Basic x-access-token:<real token>`, which the proxy injects with the
 * `Authorization: Basic {basic:x-access-token}` template. git itself never holds a credential.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CompanionWorld,
  REAL_TOKEN,
  startCompanionWorld,
  surrogateProcess,
} from "../../helpers/companion.ts";
import { type GitServer, startGitServer } from "../../helpers/git-server.ts";
import { testPki } from "../../helpers/pki.ts";

let world: CompanionWorld;
let git: GitServer;
let root: string;

const IDENTITY = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

async function sh(args: string[], cwd: string): Promise<string> {
  const child = Bun.spawn(args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, ...IDENTITY },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`${args.join(" ")}: ${err}`);
  return out;
}

beforeAll(async () => {
  const pki = await testPki();
  root = await mkdtemp(join(tmpdir(), "surrogate-git-"));
  git = await startGitServer({
    root,
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    user: "x-access-token",
    password: REAL_TOKEN,
  });
  world = await startCompanionWorld(() => [
    {
      name: "forge",
      kind: "github",
      upstreams: [`127.0.0.1:${git.port}`],
      inject: "Authorization: Basic {basic:x-access-token}",
    },
  ]);
  await world.writeWrapper("forge");
  const seed = join(world.dir, "seed");
  await sh(["git", "init", "-q", "-b", "main", seed], world.dir);
  await Bun.write(join(seed, "README"), "hello\n");
  await sh(["git", "add", "README"], seed);
  await sh(["git", "commit", "-q", "-m", "first"], seed);
  await sh(["git", "clone", "-q", "--bare", seed, join(root, "project.git")], world.dir);
  await sh(["git", "config", "http.receivepack", "true"], join(root, "project.git"));
});

afterAll(async () => {
  await git.stop();
  await world.close();
  await rm(root, { recursive: true, force: true });
});

function run(command: string[]) {
  return surrogateProcess(["run", "--provider", "forge", "--tokens", world.tokens, "--", ...command], {
    ...world.brokerEnv(),
    ...IDENTITY,
  }).done;
}

describe("git through surrogate run", () => {
  test("clone and push over HTTPS; the server saw only the injected Basic credential", async () => {
    const work = join(world.dir, "work");
    const url = `https://127.0.0.1:${git.port}/project.git`;
    const cloned = await run(["git", "clone", "-q", url, work]);
    expect(cloned.stderr).toBe("");
    expect(cloned.code).toBe(0);
    expect(await Bun.file(join(work, "README")).text()).toBe("hello\n");

    await Bun.write(join(work, "NEW"), "pushed through surrogate\n");
    await sh(["git", "add", "NEW"], work);
    await sh(["git", "commit", "-q", "-m", "second"], work);
    const pushed = await run(["git", "-C", work, "push", "-q", "origin", "HEAD:main"]);
    expect(pushed.code).toBe(0);
    const bare = join(root, "project.git");
    expect(await sh(["git", "--git-dir", bare, "log", "--format=%s", "main"], world.dir)).toBe(
      "second\nfirst\n",
    );

    const expected = `Basic ${Buffer.from(`x-access-token:${REAL_TOKEN}`).toString("base64")}`;
    expect(git.authorizations.length).toBeGreaterThan(3);
    expect(git.authorizations.every((value) => value === expected)).toBe(true);
    expect(git.refused).toBe(0);
  });
});

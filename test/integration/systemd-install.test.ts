/**
 * scripts/systemd/install.sh into a staging root (DESTDIR): what it installs starts as installed,
 * the site's credentials live in a drop-in the next run leaves alone, and the unit carries none.
 * systemd itself is emulated the way the unit uses it: each LoadCredential= file copied into a
 * credentials directory, /run/credentials/surrogate.service/ pointing there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSurrogate } from "../helpers/process.ts";

const ROOT = join(import.meta.dir, "../..");
const INSTALL = join(ROOT, "scripts/systemd/install.sh");

let work: string;
let root: string;
let binary: string;

function install(): { code: number; output: string } {
  const run = Bun.spawnSync(["sh", INSTALL, binary], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DESTDIR: root },
  });
  return { code: run.exitCode, output: `${run.stdout}${run.stderr}` };
}

const at = (path: string) => join(root, path);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-systemd-"));
  root = join(work, "root");
  // The release binary stands in as a script running this checkout (bun build takes minutes).
  binary = join(work, "surrogate");
  await Bun.write(binary, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "src/main.ts")} "$@"\n`);
  await chmod(binary, 0o755);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("scripts/systemd/install.sh", () => {
  test("installs a unit without credentials, a drop-in with them, a configuration, keys and TLS material", async () => {
    const first = install();
    expect(first.code).toBe(0);
    const unit = await readFile(at("etc/systemd/system/surrogate.service"), "utf8");
    expect(unit).not.toMatch(/^LoadCredential=/m);
    const dropIn = await readFile(at("etc/systemd/system/surrogate.service.d/credentials.conf"), "utf8");
    expect(dropIn).toMatch(/^\[Service\]$/m);
    for (const name of ["signing.jwks", "encryption.jwks", "agent.key"]) {
      expect(dropIn).toMatch(new RegExp(`^LoadCredential=${name.replace(".", "\\.")}:/etc/surrogate/`, "m"));
    }
    expect(await Bun.file(at("etc/surrogate/surrogate.example.toml")).text()).toBe(
      await Bun.file(join(ROOT, "examples/surrogate.toml")).text(),
    );
    for (const secret of [
      "secrets/agent.key",
      "secrets/ca.key",
      "keys/signing.jwks",
      "keys/encryption.jwks",
    ]) {
      expect((await stat(at(`etc/surrogate/${secret}`))).mode & 0o777).toBe(0o600);
    }
    expect(first.output).toContain("systemctl enable --now surrogate");
    expect(first.output).toContain("surrogate.service.d/credentials.conf");
  });

  test("the installed configuration starts as installed, with the drop-in's credentials", async () => {
    const credentials = join(work, "credentials");
    await mkdir(credentials, { recursive: true });
    const dropIn = await readFile(at("etc/systemd/system/surrogate.service.d/credentials.conf"), "utf8");
    for (const [, name, path] of dropIn.matchAll(/^LoadCredential=([^:\n]+):(.+)$/gm)) {
      await cp(at(path ?? ""), join(credentials, name ?? ""));
    }
    // Only what systemd and this machine change: the credentials path and free loopback ports.
    const installed = await readFile(at("etc/surrogate/surrogate.toml"), "utf8");
    const config = installed
      .replaceAll("/run/credentials/surrogate.service/", `${credentials}/`)
      .replaceAll('listen = "0.0.0.0:8080"', 'listen = "127.0.0.1:0"')
      .replaceAll('listen = "0.0.0.0:8443"', 'listen = "127.0.0.1:0"');
    const configPath = at("etc/surrogate/surrogate.test.toml");
    await Bun.write(configPath, config);
    const service = await spawnSurrogate({
      name: "installed",
      configPath,
      env: { CREDENTIALS_DIRECTORY: credentials },
    });
    try {
      expect((await fetch(`http://127.0.0.1:${service.webPort}/healthz`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  }, 60_000);

  test("a second run (an upgrade) keeps the edited configuration and drop-in, and replaces the unit", async () => {
    const dropInPath = at("etc/systemd/system/surrogate.service.d/credentials.conf");
    const configPath = at("etc/surrogate/surrogate.toml");
    const unitPath = at("etc/systemd/system/surrogate.service");
    await Bun.write(
      dropInPath,
      `${await readFile(dropInPath, "utf8")}LoadCredential=gh:/etc/surrogate/secrets/gh\n`,
    );
    await Bun.write(configPath, `${await readFile(configPath, "utf8")}# edited by the operator\n`);
    await Bun.write(unitPath, "stale unit from an older release\n");
    const keyBefore = await readFile(at("etc/surrogate/secrets/agent.key"), "utf8");
    const again = install();
    expect(again.code).toBe(0);
    expect(await readFile(dropInPath, "utf8")).toContain("LoadCredential=gh:/etc/surrogate/secrets/gh\n");
    expect(await readFile(configPath, "utf8")).toEndWith("# edited by the operator\n");
    expect(await readFile(unitPath, "utf8")).toBe(
      await readFile(join(ROOT, "scripts/systemd/surrogate.service"), "utf8"),
    );
    expect(await readFile(at("etc/surrogate/secrets/agent.key"), "utf8")).toBe(keyBefore);
  });
});

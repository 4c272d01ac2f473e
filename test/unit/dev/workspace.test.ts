import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load.ts";
import { ConfigError } from "../../../src/core/errors.ts";
import { parseBundle } from "../../../src/core/identity/bundle.ts";
import { describeCertificate } from "../../../src/core/identity/certificate.ts";
import { ClientTrust } from "../../../src/core/identity/trust.ts";
import { loadKeySets } from "../../../src/core/keys/load.ts";
import { DEV_AGENT_ID } from "../../../src/dev/config-text.ts";
import { MATERIAL_FILES, prepareWorkspace } from "../../../src/dev/workspace.ts";

const PORTS = { web: 18080, agent: 18443, idp: 18081, upstream: 18444 };
let work = "";
/** One generated workspace shared by the read-only tests (certificate generation is not free). */
let shared = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-dev-ws-"));
  shared = join(work, "shared", ".surrogate-dev");
  await prepareWorkspace(shared, PORTS);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function copyOfShared(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { mode: 0o700 });
  for (const file of await readdir(shared)) {
    const path = join(dir, file);
    await writeFile(path, await readFile(join(shared, file)), { mode: 0o600 });
  }
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  expect(error.code).toBe("config_invalid");
  return error;
}

describe("a fresh workspace", () => {
  test("is created owner-only, every file mode 0600", async () => {
    expect((await stat(shared)).mode & 0o777).toBe(0o700);
    for (const file of Object.values(MATERIAL_FILES))
      expect((await stat(join(shared, file))).mode & 0o777).toBe(0o600);
    expect((await stat(join(shared, "surrogate.toml"))).mode & 0o777).toBe(0o600);
    // Nothing but the workspace itself: the temporary build directory was renamed, not left behind.
    expect(await readdir(join(work, "shared"))).toEqual([".surrogate-dev"]);
  });

  test("holds an agent certificate with the demo SPIFFE ID, issued by the demo CA", async () => {
    const ca = await readFile(join(shared, "ca.pem"), "utf8");
    const agent = new X509Certificate(await readFile(join(shared, "agent.pem")));
    expect(describeCertificate(new Uint8Array(agent.raw)).spiffeId).toBe(DEV_AGENT_ID);
    const trust = new ClientTrust({ clientCa: { source: "ca.pem", ders: parseBundle(ca, "ca.pem") } });
    expect(trust.admit(new Uint8Array(agent.raw), [], new Date()).spiffeId).toBe(DEV_AGENT_ID);
  });

  test("holds a server certificate for localhost and 127.0.0.1 from the same CA", async () => {
    const ca = new X509Certificate(await readFile(join(shared, "ca.pem")));
    const server = new X509Certificate(await readFile(join(shared, "server.pem")));
    expect(server.subjectAltName).toContain("DNS:localhost");
    expect(server.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
  });

  test("writes a configuration surrogate serve accepts, bound to loopback on the given ports", async () => {
    const config = await loadConfig(join(shared, "surrogate.toml"), {});
    expect(config.issuer).toBe("http://127.0.0.1:18080");
    expect(config.web.listen).toEqual({ host: "127.0.0.1", port: 18080 });
    expect(config.agent.listen).toEqual({ host: "127.0.0.1", port: 18443 });
    expect(config.agent.clientCa).toBe(join(shared, "ca.pem"));
    expect(config.agent.upstreamCa).toBe(join(shared, "ca.pem"));
    const demo = config.providers.demo;
    expect(demo?.kind).toBe("demo");
    expect(demo?.issuer).toBe("http://127.0.0.1:18081");
    expect(demo?.upstreams).toEqual(["127.0.0.1:18444"]);
    const secret = (await readFile(join(shared, "client-secret"), "utf8")).trim();
    expect(demo?.clientSecret?.equals(secret)).toBe(true);
    expect(await readFile(join(shared, "surrogate.toml"), "utf8")).not.toContain(secret);
    expect(config.policy).toEqual([
      { workload: "spiffe://dev.surrogate.local/agents/*", providers: ["demo"] },
    ]);
    await loadKeySets(config.keys, {});
  });

  test("is created in an existing empty directory", async () => {
    const empty = join(work, "empty");
    await mkdir(empty);
    const workspace = await prepareWorkspace(empty, PORTS);
    expect(workspace.created).toBe(true);
    expect((await readdir(empty)).sort()).toEqual(
      [...Object.values(MATERIAL_FILES), "surrogate.toml"].sort(),
    );
  });
});

describe("reuse", () => {
  test("a complete workspace keeps its material and gets a configuration for the new ports", async () => {
    const dir = await copyOfShared("reuse");
    const before = await readFile(join(dir, "ca.key"), "utf8");
    const workspace = await prepareWorkspace(dir, { ...PORTS, web: 19080 });
    expect(workspace.created).toBe(false);
    expect(await readFile(join(dir, "ca.key"), "utf8")).toBe(before);
    expect((await loadConfig(workspace.configPath, {})).issuer).toBe("http://127.0.0.1:19080");
  });

  test("an incomplete workspace is refused, naming what is missing, and nothing is written", async () => {
    const dir = await copyOfShared("partial");
    await unlink(join(dir, "agent.key"));
    await unlink(join(dir, "surrogate.toml"));
    const error = await refusal(prepareWorkspace(dir, PORTS));
    expect(error.message).toContain("incomplete (missing agent.key)");
    expect(error.message).toContain("nothing was overwritten");
    expect(await readdir(dir)).not.toContain("agent.key");
    expect(await readdir(dir)).not.toContain("surrogate.toml");
  });

  test("a directory with unrelated content is refused", async () => {
    const dir = join(work, "foreign");
    await mkdir(dir);
    await writeFile(join(dir, "notes.txt"), "mine");
    expect((await refusal(prepareWorkspace(dir, PORTS))).message).toContain("not a surrogate dev directory");
    expect(await readdir(dir)).toEqual(["notes.txt"]);
  });

  test("a file in place of the directory is refused", async () => {
    const path = join(work, "a-file");
    await writeFile(path, "x");
    expect((await refusal(prepareWorkspace(path, PORTS))).message).toContain("is not a directory");
  });

  test("a key readable by other users is refused", async () => {
    const dir = await copyOfShared("loose-mode");
    await chmod(join(dir, "signing.jwks"), 0o644);
    expect((await refusal(prepareWorkspace(dir, PORTS))).message).toContain(
      "signing.jwks is readable by other users",
    );
  });

  test("a symlink in place of a key is refused", async () => {
    const dir = await copyOfShared("symlinked");
    await unlink(join(dir, "server.key"));
    await symlink(join(shared, "server.key"), join(dir, "server.key"));
    expect((await refusal(prepareWorkspace(dir, PORTS))).message).toContain(
      "server.key is not a regular file",
    );
  });

  test("expired leaf certificates are refused with the way out", async () => {
    const dir = await copyOfShared("expired");
    const inTwoYears = Date.now() + 2 * 365 * 86_400_000; // leaf certificates last one year
    const error = await refusal(prepareWorkspace(dir, PORTS, () => inTwoYears));
    expect(error.message).toContain("has expired; delete the directory");
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./io.ts";

let work = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-cli-dev-"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("surrogate dev: usage", () => {
  test("--help describes the demo and every flag", async () => {
    const result = await cli(["dev", "--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--dir", "--web-port", "--agent-port", "--idp-port", "--upstream-port"])
      expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain("127.0.0.1 only");
  });

  test("bad ports, unknown flags and positionals are usage errors (exit 2) that start nothing", async () => {
    for (const args of [
      ["--web-port", "0"],
      ["--agent-port", "65536"],
      ["--idp-port", "80a"],
      ["--upstream-port", "-1"],
      ["--web-port", "9000", "--agent-port", "9000"],
      ["--verbose"],
      ["extra"],
    ]) {
      const result = await cli(["dev", "--dir", join(work, "never"), ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("Usage: surrogate dev");
    }
    expect(await readdir(work)).not.toContain("never");
  });

  test("a directory holding part of a workspace is refused (exit 1) and left as it was", async () => {
    const dir = join(work, "partial");
    await mkdir(dir);
    await writeFile(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    const result = await cli(["dev", "--dir", dir, "--web-port", "1", "--agent-port", "2"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--dir: ${dir} is incomplete (missing ca.key`);
    expect(result.stderr).toContain("(config_invalid)");
    expect(await readdir(dir)).toEqual(["ca.pem"]);
  });

  test("a port already in use names the flag that moves it, and releases what had started", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const probes = [0, 1, 2].map(() =>
      Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() }),
    );
    const [idpPort, webPort, upstreamPort] = probes.map((probe) => String(probe.port));
    for (const probe of probes) probe.stop(true);
    try {
      const result = await cli(
        ["dev", "--dir", join(work, "busy"), "--idp-port", String(idpPort)]
          .concat(["--agent-port", String(taken.port), "--web-port", String(webPort)])
          .concat(["--upstream-port", String(upstreamPort)]),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`--agent-port: 127.0.0.1:${taken.port} is already in use`);
      // The demo IdP and upstream had started before the agent port failed: both are closed again.
      for (const port of [idpPort, upstreamPort]) {
        const again = Bun.serve({ hostname: "127.0.0.1", port: Number(port), fetch: () => new Response() });
        again.stop(true);
      }
    } finally {
      taken.stop(true);
    }
  });
});

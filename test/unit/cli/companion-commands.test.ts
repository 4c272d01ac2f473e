import { describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { cli } from "./io.ts";

const broker = { SURROGATE_BROKER: "https://127.0.0.1:1", SURROGATE_CERT: "/c.pem", SURROGATE_KEY: "/k.pem" };

describe("surrogate run and surrogate agent: usage errors (exit 2, nothing on stdout)", () => {
  const cases: Array<[string[], string]> = [
    [["run", "--provider", "github"], "missing -- COMMAND"],
    [["run", "--", "true"], "missing --broker"],
    [["run", "--provider", "a b", "--", "true"], '--provider: "a b" is not a provider name'],
    [["run", "--env", "OPENAI_API_KEY", "--", "true"], '--env: "OPENAI_API_KEY" is not VAR=PROVIDER'],
    [["run", "--env", "1X=openai", "--", "true"], "is not VAR=PROVIDER"],
    [["run", "--unknown", "--", "true"], "Unknown option"],
    [["agent", "--dir", "/tmp/x"], "missing --listen"],
    [["agent", "--listen", "127.0.0.1:8480"], "missing --dir"],
    [["agent", "--listen", "0.0.0.0:8480", "--dir", "/tmp/x"], "--listen: only a loopback address"],
    [["agent", "--listen", "nonsense", "--dir", "/tmp/x"], "--listen"],
  ];
  for (const [argv, problem] of cases) {
    test(argv.join(" "), async () => {
      const result = await cli(argv, {
        env: argv.includes("--provider") || argv.includes("--env") ? broker : {},
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(problem);
    });
  }

  test("--help after -- belongs to the command", async () => {
    const result = await cli(["run", "--", "sh", "--help"], { env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing --broker");
  });

  test("an unreachable broker: exit 1, one line, the command never runs", async () => {
    const dir = `${process.env.TMPDIR ?? "/tmp"}/surrogate-run-unreachable-${process.pid}`;
    const { testPki } = await import("../../helpers/pki.ts");
    const pki = await testPki();
    await Bun.write(`${dir}/c.pem`, pki.alpha.certPem);
    await Bun.write(`${dir}/k.pem`, pki.alpha.keyPem);
    const marker = `${dir}/ran`;
    const result = await cli(["run", "--tokens", `${dir}/tokens`, "--", "touch", marker], {
      env: {
        SURROGATE_BROKER: "https://127.0.0.1:1",
        SURROGATE_CERT: `${dir}/c.pem`,
        SURROGATE_KEY: `${dir}/k.pem`,
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toStartWith("surrogate run: cannot reach the broker at https://127.0.0.1:1");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(await Bun.file(marker).exists()).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});

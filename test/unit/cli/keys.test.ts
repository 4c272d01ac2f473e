import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keysCommand } from "../../../src/cli/keys.ts";
import { loadKeySets } from "../../../src/core/keys/load.ts";
import { cli } from "./io.ts";

let cwd = "";

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "surrogate-cli-keys-"));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

async function readSet(path: string): Promise<{ keys: Record<string, unknown>[] }> {
  return JSON.parse(await readFile(path, "utf8"));
}

describe("surrogate keys generate", () => {
  test("writes loadable owner-only key sets relative to cwd and prints only paths and kids", async () => {
    const result = await cli(["keys", "generate", "--out", "gen"], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const signingPath = join(cwd, "gen", "signing.jwks");
    const encryptionPath = join(cwd, "gen", "encryption.jwks");
    expect((await stat(signingPath)).mode & 0o777).toBe(0o600);
    expect((await stat(encryptionPath)).mode & 0o777).toBe(0o600);
    const signing = await readSet(signingPath);
    const encryption = await readSet(encryptionPath);
    expect(signing.keys[0]?.alg).toBe("ES256");
    expect(result.stdout).toContain(`signing = "file:${signingPath}"`);
    expect(result.stdout).toContain(`(signs with kid ${signing.keys[0]?.kid})`);
    expect(result.stdout).not.toContain(String(signing.keys[0]?.d));
    expect(result.stdout).not.toContain(String(encryption.keys[0]?.k));
    const keys = await loadKeySets(
      { signing: `file:${signingPath}`, encryption: `file:${encryptionPath}` },
      {},
    );
    expect(keys.signer?.alg).toBe("ES256");
  });

  test("--alg EdDSA generates an Ed25519 signing key", async () => {
    expect((await cli(["keys", "generate", "--out", "ed", "--alg", "EdDSA"], { cwd })).code).toBe(0);
    const signing = await readSet(join(cwd, "ed", "signing.jwks"));
    expect(signing.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
  });

  test("refuses to overwrite existing key sets", async () => {
    await cli(["keys", "generate", "--out", "twice"], { cwd });
    const before = await readFile(join(cwd, "twice", "signing.jwks"), "utf8");
    const result = await cli(["keys", "generate", "--out", "twice"], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("already exists");
    expect(result.stderr).toContain("(keys_invalid)");
    expect(await readFile(join(cwd, "twice", "signing.jwks"), "utf8")).toBe(before);
  });

  test.each([
    [["keys", "generate"], "surrogate keys: generate needs --out DIR"],
    [["keys", "generate", "--out"], "surrogate keys: Option '--out <value>' argument missing"],
    [["keys", "generate", "--out", "x", "--alg", "RS256"], "surrogate keys: --alg must be ES256 or EdDSA"],
    [["keys", "generate", "--output", "x"], "surrogate keys: Unknown option '--output'"],
    [["keys", "generate", "--out", "x", "extra"], "surrogate keys: Unexpected argument 'extra'"],
    [["keys", "rotate"], "surrogate keys: rotate needs --dir DIR"],
    [["keys"], "surrogate keys: missing subcommand"],
    [["keys", "delete"], 'surrogate keys: unknown subcommand "delete"'],
  ])("%p is a usage error", async (argv, message) => {
    const result = await cli(argv, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(message);
    expect(result.stderr).toEndWith(keysCommand.usage);
  });
});

describe("surrogate keys rotate", () => {
  test("prepends a new key to both sets and keeps the old ones", async () => {
    await cli(["keys", "generate", "--out", "rot"], { cwd });
    const dir = join(cwd, "rot");
    const before = await readSet(join(dir, "signing.jwks"));
    const result = await cli(["keys", "rotate", "--dir", dir, "--alg", "EdDSA"], { cwd: "/" });
    expect(result.code).toBe(0);
    const after = await readSet(join(dir, "signing.jwks"));
    expect(after.keys).toHaveLength(2);
    expect(after.keys[0]?.alg).toBe("EdDSA");
    expect(after.keys[1]).toEqual(before.keys[0] ?? {});
    expect((await readSet(join(dir, "encryption.jwks"))).keys).toHaveLength(2);
    expect(result.stdout).toContain(
      `(signs with kid ${after.keys[0]?.kid}; also verifies ${before.keys[0]?.kid})`,
    );
  });

  test("stage → promote → retire: the multi-instance rotation, each step validated", async () => {
    await cli(["keys", "generate", "--out", "staged"], { cwd });
    const dir = join(cwd, "staged");
    const kids = async (file: string) => (await readSet(join(dir, file))).keys.map((key) => String(key.kid));
    const [k1] = await kids("signing.jwks");
    const [e1] = await kids("encryption.jwks");

    expect((await cli(["keys", "rotate", "--dir", dir, "--stage"], { cwd })).code).toBe(0);
    const [first, k2] = await kids("signing.jwks");
    expect(first).toBe(k1!);
    expect(k2).not.toBe(k1!);
    const [, e2] = await kids("encryption.jwks");
    expect((await kids("encryption.jwks"))[0]).toBe(e1!);

    expect((await cli(["keys", "promote", "--dir", dir], { cwd })).code).toBe(0);
    expect(await kids("signing.jwks")).toEqual([k2!, k1!]);
    expect(await kids("encryption.jwks")).toEqual([e2!, e1!]);

    const inUse = await cli(["keys", "retire", "--dir", dir, "--kid", k2!], { cwd });
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain("in use");
    const unknown = await cli(["keys", "retire", "--dir", dir, "--kid", "nope"], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no key with kid nope");

    expect((await cli(["keys", "retire", "--dir", dir, "--kid", k1!], { cwd })).code).toBe(0);
    expect(await kids("signing.jwks")).toEqual([k2!]);
    expect((await cli(["keys", "retire", "--dir", dir, "--kid", e1!], { cwd })).code).toBe(0);
    expect(await kids("encryption.jwks")).toEqual([e2!]);

    const nothingStaged = await cli(["keys", "promote", "--dir", dir], { cwd });
    expect(nothingStaged.code).toBe(1);
    expect(nothingStaged.stderr).toContain("nothing staged");
  });

  test("a directory without key sets fails without creating any", async () => {
    const result = await cli(["keys", "rotate", "--dir", "empty-dir"], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith("surrogate keys: ");
    expect(result.stderr).toContain("(keys_invalid)");
  });
});

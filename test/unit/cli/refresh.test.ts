import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { thumbprintOf } from "../../../src/core/identity/thumbprint.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import type { WrapperKind } from "../../../src/core/token/types.ts";
import { testKeySets } from "../../helpers/keys.ts";
import {
  json,
  type PkiFiles,
  type ScriptedBroker,
  startScriptedBroker,
  writePkiFiles,
} from "./agent-fixture.ts";
import { cli } from "./io.ts";

const NEW_ACCESS = "eyJhbGciOiJFUzI1NiJ9.eyJuZXciOnRydWV9.c2ln";
let files: PkiFiles;
let broker: ScriptedBroker;
let refreshWrapper: string;
let accessWrapper: string;

async function mint(kind: WrapperKind): Promise<string> {
  const keys = await testKeySets();
  const secret =
    kind === "refresh"
      ? { token: new Secret("rt"), type: "refresh" }
      : { token: new Secret("at"), type: "Bearer" };
  const request = {
    kind,
    provider: "demo",
    binding: { kind: "x5t#S256" as const, value: thumbprintOf(files.pki.alpha.der) },
    secret,
  };
  return (await mintWrapper(request, keys, { issuer: "https://b.example", tokenTtl: 60, now: Date.now() }))
    .token;
}

beforeAll(async () => {
  files = await writePkiFiles();
  broker = await startScriptedBroker(files.pki);
  refreshWrapper = await mint("refresh");
  accessWrapper = await mint("access");
});
afterAll(async () => {
  await broker.server.close();
  await files.cleanup();
});

function env() {
  return {
    SURROGATE_BROKER: broker.url,
    SURROGATE_CERT: files.alphaCert,
    SURROGATE_KEY: files.alphaKey,
    SURROGATE_CA: files.ca,
  };
}

describe("surrogate refresh", () => {
  test("sends the refresh wrapper from stdin and prints the new access wrapper", async () => {
    broker.bodies.length = 0;
    broker.handle = () => json({ access_token: NEW_ACCESS, token_type: "Bearer", expires_in: 60, scope: "" });
    const result = await cli(["refresh", "--in", "-"], { env: env(), input: `${refreshWrapper}\n` });
    expect(result).toEqual({
      code: 0,
      stdout: `${NEW_ACCESS}\n`,
      stderr: "wrapper written to stdout, expires in 1m\n",
    });
    expect(Object.fromEntries(broker.bodies[0] ?? [])).toEqual({
      grant_type: "refresh_token",
      refresh_token: refreshWrapper,
    });
  });

  test("takes refresh_token from login --json output and replaces an --out file with mode 0600", async () => {
    broker.handle = () => json({ access_token: NEW_ACCESS, token_type: "Bearer", expires_in: 60, scope: "" });
    const input = join(files.dir, "login.json");
    await writeFile(input, JSON.stringify({ access_token: accessWrapper, refresh_token: refreshWrapper }));
    const out = join(files.dir, "out.txt");
    await writeFile(out, "old");
    await chmod(out, 0o644);
    const result = await cli(["refresh", "--in", input, "--out", out], { env: env() });
    expect(result.code).toBe(0);
    expect(await readFile(out, "utf8")).toBe(`${NEW_ACCESS}\n`);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  test("an access wrapper is refused before anything is sent", async () => {
    broker.bodies.length = 0;
    const result = await cli(["refresh", "--in", "-"], { env: env(), input: accessWrapper });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--in holds an access wrapper");
    expect(broker.bodies).toHaveLength(0);
  });

  test("login output without a refresh_token is refused", async () => {
    const result = await cli(["refresh", "--in", "-"], {
      env: env(),
      input: JSON.stringify({ access_token: accessWrapper }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the JSON has no refresh_token");
  });

  test("the broker's refusal exits 1 with its reason", async () => {
    broker.handle = () => json({ error: "invalid_grant", error_description: "refresh_token: invalid" }, 400);
    const result = await cli(["refresh", "--in", "-"], { env: env(), input: refreshWrapper });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "surrogate refresh: the broker refused the refresh: refresh_token: invalid (invalid_grant)\n",
    });
  });

  test("--in is required", async () => {
    const result = await cli(["refresh"], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("surrogate refresh: missing --in FILE (or - for stdin)");
  });
});

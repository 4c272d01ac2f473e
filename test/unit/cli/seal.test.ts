import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicKey } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import { thumbprintOf } from "../../../src/core/identity/thumbprint.ts";
import { type WrittenKeySets, writeKeySetsToDir } from "../../../src/core/keys/files.ts";
import { loadKeySets } from "../../../src/core/keys/load.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { openWrapper } from "../../../src/core/token/open.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { type PkiFiles, writePkiFiles } from "./agent-fixture.ts";
import { cli } from "./io.ts";

const ISSUER = "https://broker.example.com";
const API_KEY = "sk-live-0123456789abcdef";

let files: PkiFiles;
let written: WrittenKeySets;
let keys: KeySets;
let config: string;
let derCert: string;

beforeAll(async () => {
  files = await writePkiFiles();
  written = await writeKeySetsToDir(join(files.dir, "keys"));
  keys = await loadKeySets(
    { signing: `file:${written.signingPath}`, encryption: `file:${written.encryptionPath}` },
    {},
  );
  config = join(files.dir, "surrogate.toml");
  await writeFile(
    config,
    `issuer = "${ISSUER}"
token_ttl = "1h"
[agent]
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
[providers.openai]
kind = "static"
upstreams = ["api.openai.com"]
[providers.github]
kind = "github"
client_id = "Iv1.abc"
client_secret = "env:GH_SECRET"
`,
  );
  derCert = join(files.dir, "alpha.der");
  await writeFile(derCert, files.pki.alpha.der);
});
afterAll(() => files.cleanup());

const NOW = Date.UTC(2026, 0, 1);

function seal(args: string[], input: string) {
  return cli(["seal", ...args], { input, now: () => NOW, env: { GH_SECRET: "x" } });
}

async function opened(token: string) {
  const verified = await verifyWrapper(token, "access", keys, { issuer: ISSUER, now: NOW });
  return { verified, secret: await openWrapper(verified, keys) };
}

describe("surrogate seal", () => {
  test("wraps stdin for the certificate: verifies, opens to the input, bound to its x5t#S256", async () => {
    const result = await seal(
      ["--provider", "openai", "--cert", files.alphaCert, "--config", config],
      `${API_KEY}\n`,
    );
    expect(result.code).toBe(0);
    const token = result.stdout.trimEnd();
    expect(result.stdout).toBe(`${token}\n`);
    const { verified, secret } = await opened(token);
    expect(secret.token.reveal()).toBe(API_KEY);
    expect(secret.type).toBe("Bearer");
    expect(verified.binding).toEqual({ kind: "x5t#S256", value: thumbprintOf(files.pki.alpha.der) });
    expect(verified.provider).toBe("openai");
    // Default 30 days, not capped by the config's token_ttl of 1h.
    expect(verified.exp).toBe(NOW / 1000 + 30 * 86_400);
    expect(result.stderr).toContain("spiffe://test.example/agents/alpha");
    expect(result.stderr + result.stdout).not.toContain(API_KEY);
  });

  test("accepts a DER certificate, explicit key sources and --ttl", async () => {
    const result = await seal(
      [
        "--provider",
        "openai",
        "--cert",
        derCert,
        "--ttl",
        "90d",
        "--issuer",
        ISSUER,
        "--signing",
        `file:${written.signingPath}`,
        "--encryption",
        `file:${written.encryptionPath}`,
      ],
      API_KEY,
    );
    expect(result.code).toBe(0);
    const { verified, secret } = await opened(result.stdout.trimEnd());
    expect(secret.token.reveal()).toBe(API_KEY);
    expect(verified.binding).toEqual({ kind: "x5t#S256", value: thumbprintOf(files.pki.alpha.der) });
    expect(verified.exp).toBe(NOW / 1000 + 90 * 86_400);
  });

  test("--public-key: a PEM PUBLIC KEY or a certificate binds cnf jkt, the RFC 7638 thumbprint", async () => {
    const publicKey = createPublicKey(files.pki.alpha.keyPem);
    const expected = await calculateJwkThumbprint(publicKey.export({ format: "jwk" }) as JWK);
    const spkiPem = join(files.dir, "alpha.pub");
    await writeFile(spkiPem, publicKey.export({ format: "pem", type: "spki" }));
    for (const path of [spkiPem, files.alphaCert, derCert]) {
      const result = await seal(["--provider", "openai", "--public-key", path, "--config", config], API_KEY);
      expect(result.code).toBe(0);
      const { verified, secret } = await opened(result.stdout.trimEnd());
      expect(verified.binding).toEqual({ kind: "jkt", value: expected });
      expect(secret.token.reveal()).toBe(API_KEY);
      expect(result.stderr).toContain(`RFC 7638 thumbprint ${expected}`);
    }
  });

  test.each([
    ["a private key", "alphaKey", "holds a private key"],
    ["garbage", "garbage", "neither a PEM PUBLIC KEY nor a certificate"],
  ] as const)("--public-key refuses %s", async (_name, file, message) => {
    const path = files[file];
    const result = await seal(["--provider", "openai", "--public-key", path, "--config", config], API_KEY);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
  });

  test("--public-key refuses a PUBLIC KEY block that is not a key", async () => {
    const path = join(files.dir, "bad.pub");
    await writeFile(path, "-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n-----END PUBLIC KEY-----\n");
    const result = await seal(["--provider", "openai", "--public-key", path, "--config", config], API_KEY);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a usable public key");
  });

  test("removes exactly one trailing newline (LF or CRLF)", async () => {
    for (const input of [`${API_KEY}\n`, `${API_KEY}\r\n`, API_KEY]) {
      const result = await seal(
        ["--provider", "openai", "--cert", files.alphaCert, "--config", config],
        input,
      );
      expect((await opened(result.stdout.trimEnd())).secret.token.reveal()).toBe(API_KEY);
    }
  });

  test.each([
    ["empty input", "", "stdin: empty"],
    ["only a newline", "\n", "stdin: empty"],
    ["two lines", `${API_KEY}\nsecond\n`, "line break"],
    ["a CR inside", `${API_KEY}\rx`, "line break"],
    ["a trailing blank line", `${API_KEY}\n\n`, "line break"],
    ["a control character", `${API_KEY}\u0007`, "control characters"],
    ["too much input", "x".repeat(9000), "larger than 8192 bytes"],
  ])("refuses %s on stdin", async (_name, input, message) => {
    const result = await seal(["--provider", "openai", "--cert", files.alphaCert, "--config", config], input);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
  });

  test("refuses a provider of kind other than static", async () => {
    const result = await seal(
      ["--provider", "github", "--cert", files.alphaCert, "--config", config],
      API_KEY,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '--provider github: is kind "github"; seal is for kind "static" providers',
    );
  });

  test("refuses a provider the config does not have", async () => {
    const result = await seal(["--provider", "nope", "--cert", files.alphaCert, "--config", config], API_KEY);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--provider nope: not in ${config}`);
  });

  test("refuses a file that is not a certificate", async () => {
    const result = await seal(["--provider", "openai", "--cert", files.garbage, "--config", config], API_KEY);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a usable X.509 certificate");
  });

  test("SURROGATE_CONFIG stands in for --config", async () => {
    const result = await cli(["seal", "--provider", "openai", "--cert", files.alphaCert], {
      input: API_KEY,
      env: { SURROGATE_CONFIG: config, GH_SECRET: "x" },
    });
    expect(result.code).toBe(0);
  });

  test.each([
    [["--cert", "c.pem", "--config", "x"], "missing or invalid --provider NAME"],
    [["--provider", "openai", "--config", "x"], "give exactly one of --cert FILE, --public-key FILE"],
    [
      ["--provider", "openai", "--cert", "c.pem", "--public-key", "k.pem", "--config", "x"],
      "give exactly one of --cert FILE, --public-key FILE",
    ],
    [["--provider", "openai", "--cert", "c.pem"], "missing --config FILE (or SURROGATE_CONFIG)"],
    [
      ["--provider", "openai", "--cert", "c.pem", "--config", "x", "--issuer", ISSUER],
      "use either --config or",
    ],
    [
      ["--provider", "openai", "--cert", "c.pem", "--signing", "file:a"],
      "--signing, --encryption and --issuer go together",
    ],
    [["--provider", "openai", "--cert", "c.pem", "--key", API_KEY], "Unknown option '--key'"],
  ])("usage error: %j", async (args, problem) => {
    const result = await seal(args, API_KEY);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(problem);
  });
});

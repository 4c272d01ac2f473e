import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeysError } from "../../../../src/core/errors.ts";
import { rotateKeySetsInDir, writeKeySetsToDir } from "../../../../src/core/keys/files.ts";
import { loadKeySets } from "../../../../src/core/keys/load.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { mintWrapper } from "../../../../src/core/token/mint.ts";
import { openWrapper } from "../../../../src/core/token/open.ts";
import { verifyWrapper } from "../../../../src/core/token/verify.ts";

const root = mkdtempSync(join(tmpdir(), "surrogate-keydir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const NOW = Date.UTC(2030, 0, 1);
const OPTIONS = { issuer: "https://broker.test", tokenTtl: 3600, now: NOW };

function load(dir: string) {
  return loadKeySets(
    { signing: `file:${join(dir, "signing.jwks")}`, encryption: `file:${join(dir, "encryption.jwks")}` },
    {},
  );
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function fails(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeysError);
  return (error as KeysError).message;
}

describe("writeKeySetsToDir", () => {
  test("creates the directory 0700 and both files 0600, loadable", async () => {
    const dir = join(root, "new", "keys");
    const written = await writeKeySetsToDir(dir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(written.signingPath)).toBe(0o600);
    expect(mode(written.encryptionPath)).toBe(0o600);
    const keys = await load(dir);
    expect(keys.signer?.kid).toBe(written.signingKid);
    expect(keys.encrypter.kid).toBe(written.encryptionKid);
  });

  test("refuses to overwrite either existing file, leaving it untouched", async () => {
    const dir = join(root, "existing");
    mkdirSync(dir);
    writeFileSync(join(dir, "encryption.jwks"), "keep");
    expect(await fails(writeKeySetsToDir(dir))).toContain("already exists");
    expect(readFileSync(join(dir, "encryption.jwks"), "utf8")).toBe("keep");
    expect(readdirSync(dir)).toEqual(["encryption.jwks"]);
    const full = join(root, "full");
    await writeKeySetsToDir(full, "EdDSA");
    const before = readFileSync(join(full, "signing.jwks"), "utf8");
    expect(await fails(writeKeySetsToDir(full))).toContain("already exists");
    expect(readFileSync(join(full, "signing.jwks"), "utf8")).toBe(before);
  });
});

describe("rotateKeySetsInDir", () => {
  test("prepends new keys; old wrappers still verify and open; new ones carry the new kid", async () => {
    const dir = join(root, "rotate");
    const first = await writeKeySetsToDir(dir);
    const before = await load(dir);
    const request = {
      kind: "access" as const,
      provider: "github",
      binding: { kind: "x5t#S256" as const, value: "A".repeat(43) },
      secret: { token: new Secret("old-token"), type: "Bearer" },
    };
    const old = await mintWrapper(request, before, OPTIONS);

    const rotated = await rotateKeySetsInDir(dir, "EdDSA");
    expect(rotated.signingKid).not.toBe(first.signingKid);
    expect(mode(rotated.signingPath)).toBe(0o600);
    expect(mode(rotated.encryptionPath)).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["encryption.jwks", "signing.jwks"]);

    const after = await load(dir);
    expect([...after.verifiers.keys()]).toEqual([rotated.signingKid, first.signingKid]);
    expect([...after.decrypters.keys()]).toEqual([rotated.encryptionKid, first.encryptionKid]);
    const verified = await verifyWrapper(old.token, "access", after, { issuer: OPTIONS.issuer, now: NOW });
    expect(verified.kid).toBe(first.signingKid);
    expect((await openWrapper(verified, after)).token.reveal()).toBe("old-token");

    const fresh = await mintWrapper(request, after, OPTIONS);
    const freshVerified = await verifyWrapper(fresh.token, "access", after, {
      issuer: OPTIONS.issuer,
      now: NOW,
    });
    expect(freshVerified.kid).toBe(rotated.signingKid);
    // A proxy still on the old keys refuses the new wrapper: rotation must reach proxies first.
    await expect(
      verifyWrapper(fresh.token, "access", before, { issuer: OPTIONS.issuer, now: NOW }),
    ).rejects.toThrow("unknown kid");
  });

  test("refuses to rotate a missing or broken set and leaves it as it was", async () => {
    expect(await fails(rotateKeySetsInDir(join(root, "nothing")))).toContain("signing.jwks");
    const dir = join(root, "broken");
    await writeKeySetsToDir(dir);
    writeFileSync(join(dir, "encryption.jwks"), '{"keys":[{"kty":"oct","kid":"a","k":"AAAA"}]}');
    const before = readFileSync(join(dir, "signing.jwks"), "utf8");
    expect(await fails(rotateKeySetsInDir(dir))).toContain("32 bytes");
    expect(readFileSync(join(dir, "signing.jwks"), "utf8")).toBe(before);
  });
});

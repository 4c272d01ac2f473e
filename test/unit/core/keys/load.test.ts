import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from "jose";
import { KeysError } from "../../../../src/core/errors.ts";
import {
  generateEncryptionJwk,
  generateKeySets,
  generateSigningJwk,
} from "../../../../src/core/keys/generate.ts";
import { keySetsFromJwks, loadKeySets } from "../../../../src/core/keys/load.ts";

const dir = mkdtempSync(join(tmpdir(), "surrogate-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sets = await generateKeySets();
const signingText = JSON.stringify(sets.signing);
const encryptionText = JSON.stringify(sets.encryption);
const d = String((sets.signing.keys[0] as JWK).d);
const k = String((sets.encryption.keys[0] as JWK).k);

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function fails(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeysError);
  expect((error as KeysError).code).toBe("keys_invalid");
  // Never key material in messages.
  expect((error as KeysError).message).not.toContain(d);
  expect((error as KeysError).message).not.toContain(k);
  return (error as KeysError).message;
}

function withSigning(keys: unknown[]): Promise<unknown> {
  return keySetsFromJwks({ keys } as JSONWebKeySet, sets.encryption);
}

function withEncryption(keys: unknown[]): Promise<unknown> {
  return keySetsFromJwks(sets.signing, { keys } as JSONWebKeySet);
}

describe("loadKeySets sources", () => {
  const encryptionPath = file("encryption.jwks", encryptionText);

  test("file:", async () => {
    const keys = await loadKeySets(
      { signing: `file:${file("s.jwks", signingText)}`, encryption: `file:${encryptionPath}` },
      {},
    );
    expect(keys.signer?.kid).toBe(String(sets.signing.keys[0]?.kid));
    expect(keys.encrypter.kid).toBe(String(sets.encryption.keys[0]?.kid));
  });

  test("env: with JSON, base64 and base64url", async () => {
    const env = {
      JSON_KEYS: signingText,
      B64_KEYS: Buffer.from(signingText).toString("base64"),
      B64URL_KEYS: Buffer.from(signingText).toString("base64url"),
    };
    for (const name of Object.keys(env)) {
      const keys = await loadKeySets({ signing: `env:${name}`, encryption: `file:${encryptionPath}` }, env);
      expect(keys.verifiers.size).toBe(1);
    }
  });

  test("credential: reads $CREDENTIALS_DIRECTORY/NAME", async () => {
    file("signing.cred", signingText);
    const keys = await loadKeySets(
      { signing: "credential:signing.cred", encryption: `file:${encryptionPath}` },
      { CREDENTIALS_DIRECTORY: dir },
    );
    expect(keys.verifiers.size).toBe(1);
  });

  test("rejections name the source", async () => {
    const enc = `file:${encryptionPath}`;
    const load = (signing: string, env: Record<string, string> = {}) =>
      fails(loadKeySets({ signing, encryption: enc }, env));
    expect(await load("/etc/keys.jwks")).toContain("keys.signing: source must start with");
    expect(await load("https://x/jwks.json")).toContain("source must start with");
    expect(await load(`file:${join(dir, "missing.jwks")}`)).toBe(
      `keys.signing (file:${join(dir, "missing.jwks")}): cannot read ${join(dir, "missing.jwks")}: no such file or directory (ENOENT)`,
    );
    expect(await load(`file:${dir}`)).toContain("not a regular file");
    expect(await load(`file:${file("big.jwks", " ".repeat(256 * 1024 + 1))}`)).toContain("larger than");
    expect(await load("env:UNSET")).toContain("env:UNSET");
    expect(await load("env:BAD", { BAD: "not base64 !" })).toContain("neither JSON nor base64");
    expect(await load("env:TEXT", { TEXT: "{not json" })).toContain("not a valid JSON");
    const credential = (name: string) =>
      fails(loadKeySets({ signing: `credential:${name}`, encryption: enc }, { CREDENTIALS_DIRECTORY: dir }));
    for (const name of ["../s.jwks", "a/b", "..", ".", ""]) {
      expect(await credential(name)).toContain("plain file name");
    }
    expect(await load("credential:signing.cred")).toContain("CREDENTIALS_DIRECTORY");
    expect(await load("credential:signing.cred", { CREDENTIALS_DIRECTORY: "relative" })).toContain(
      "CREDENTIALS_DIRECTORY",
    );
    expect(await fails(loadKeySets({ signing: `file:${encryptionPath}`, encryption: enc }, {}))).toContain(
      "keys.signing",
    );
  });
});

describe("signing set", () => {
  const good = sets.signing.keys[0] as JWK;

  test("first key signs, every key verifies; public JWKS holds no private member", async () => {
    const second = await generateSigningJwk("EdDSA");
    const keys = await keySetsFromJwks({ keys: [good, second] }, sets.encryption);
    expect(keys.signer).toMatchObject({ kid: good.kid, alg: "ES256" });
    expect([...keys.verifiers.keys()]).toEqual([String(good.kid), String(second.kid)]);
    expect(keys.verifiers.get(String(second.kid))?.alg).toBe("EdDSA");
    expect(keys.publicJwks.keys.map((key) => Object.keys(key).sort())).toEqual([
      ["alg", "crv", "kid", "kty", "use", "x", "y"],
      ["alg", "crv", "kid", "kty", "use", "x"],
    ]);
    expect(JSON.stringify(keys.publicJwks)).not.toContain(String(good.d));
  });

  test("rejects empty sets, duplicate kids, missing kid, wrong kty/crv/alg/use, missing d", async () => {
    const { kid: _kid, ...noKid } = good;
    const { d: _d, ...publicOnly } = good;
    const p384 = {
      ...(await exportJWK((await generateKeyPair("ES384", { extractable: true })).privateKey)),
      kid: "p384",
    };
    const x25519 = {
      ...(await exportJWK(
        (
          await generateKeyPair("ECDH-ES", { crv: "X25519", extractable: true })
        ).privateKey,
      )),
      kid: "x",
    };
    expect(await fails(withSigning([]))).toContain("empty");
    expect(await fails(keySetsFromJwks({} as JSONWebKeySet, sets.encryption))).toContain('"keys"');
    expect(await fails(withSigning([good, good]))).toContain("duplicate kid");
    expect(await fails(withSigning([noKid]))).toContain('missing "kid"');
    expect(await fails(withSigning([{ ...good, kid: "" }]))).toContain('missing "kid"');
    expect(await fails(withSigning([p384]))).toContain("EC P-256 or OKP Ed25519");
    expect(await fails(withSigning([x25519]))).toContain("EC P-256 or OKP Ed25519");
    expect(await fails(withSigning([sets.encryption.keys[0]]))).toContain("EC P-256 or OKP Ed25519");
    expect(await fails(withSigning([{ ...good, alg: "ES384" }]))).toContain('"alg"');
    expect(await fails(withSigning([{ ...good, use: "enc" }]))).toContain('"use"');
    expect(await fails(withSigning([publicOnly]))).toContain('lacks "d"');
    expect(await fails(withSigning([good, publicOnly]))).toContain("key #2");
    expect(await fails(withSigning(["x"]))).toContain("not a JSON object");
  });

  test("rejects a private key whose d does not belong to x/y, or is malformed", async () => {
    // WebCrypto refuses a mismatched P-256 pair at import; for Ed25519 only our sign/verify probe notices.
    const other = (await generateSigningJwk()) as JWK;
    expect(await fails(withSigning([{ ...good, d: other.d }]))).toContain("key #1");
    const ed = (await generateSigningJwk("EdDSA")) as JWK;
    const otherEd = (await generateSigningJwk("EdDSA")) as JWK;
    expect(await fails(withSigning([{ ...ed, d: otherEd.d }]))).toContain("do not belong together");
    expect(await fails(withSigning([{ ...good, d: "AAAA" }]))).toContain("invalid ES256 private key");
  });

  test("rejects duplicate JSON members in a key file", async () => {
    const text = signingText.replace('"kid":', `"d":"${"A".repeat(43)}","kid":`);
    const path = file("dup.jwks", text);
    expect(await fails(loadKeySets({ signing: `file:${path}`, encryption: `file:${path}` }, {}))).toContain(
      "duplicate",
    );
  });
});

describe("encryption set", () => {
  const good = sets.encryption.keys[0] as JWK;

  test("first key encrypts, every key decrypts", async () => {
    const second = generateEncryptionJwk();
    const keys = await withEncryption([good, second]);
    expect((keys as { encrypter: { kid: string } }).encrypter.kid).toBe(String(good.kid));
  });

  test("rejects empty, duplicate kid, wrong kty, wrong size, wrong alg/use", async () => {
    expect(await fails(withEncryption([]))).toContain("empty");
    expect(await fails(withEncryption([good, good]))).toContain("duplicate kid");
    expect(await fails(withEncryption([sets.signing.keys[0]]))).toContain('kty "oct"');
    const short = { ...good, k: Buffer.alloc(16, 1).toString("base64url") };
    expect(await fails(withEncryption([short]))).toContain("32 bytes");
    expect(
      await fails(withEncryption([{ ...good, k: Buffer.alloc(33, 1).toString("base64url") }])),
    ).toContain("32 bytes");
    expect(await fails(withEncryption([{ ...good, alg: "A128GCM" }]))).toContain('"alg"');
    expect(await fails(withEncryption([{ ...good, use: "sig" }]))).toContain('"use"');
    expect(await fails(withEncryption([{ ...good, k: undefined }]))).toContain('"k"');
  });

  test("rejects more than 32 keys", async () => {
    const many = Array.from({ length: 33 }, () => generateEncryptionJwk());
    expect(await fails(withEncryption(many))).toContain("more than 32");
  });
});

import { describe, expect, test } from "bun:test";
import type { JWK } from "jose";
import { generateKeySets, randomKid } from "../../../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../../../src/core/keys/load.ts";

describe("generateKeySets", () => {
  test("defaults to ES256: private P-256 key and a 256-bit oct key, random kids", async () => {
    const { signing, encryption } = await generateKeySets();
    const sig = signing.keys[0] as JWK;
    const enc = encryption.keys[0] as JWK;
    expect(sig).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(typeof sig.d).toBe("string");
    expect(enc).toMatchObject({ kty: "oct", alg: "A256GCM", use: "enc" });
    expect(Buffer.from(String(enc.k), "base64url").length).toBe(32);
    expect(Buffer.from(String(sig.kid), "base64url").length).toBe(16);
    expect(sig.kid).not.toBe(enc.kid);
    const again = await generateKeySets();
    expect(again.signing.keys[0]?.kid).not.toBe(sig.kid);
    expect(again.encryption.keys[0]?.k).not.toBe(enc.k);
  });

  test("EdDSA produces an Ed25519 key that loads", async () => {
    const { signing, encryption } = await generateKeySets("EdDSA");
    expect(signing.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect((await keySetsFromJwks(signing, encryption)).signer?.alg).toBe("EdDSA");
  });

  test("kids are 22 base64url characters and never start with a dash (they follow --kid on command lines)", () => {
    // One in 64 random kids would start with "-": 4,000 draws miss a regression with p ≈ 10^-28.
    const kids = Array.from({ length: 4000 }, randomKid);
    for (const kid of kids) expect(kid).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(kids).size).toBe(kids.length);
  });
});

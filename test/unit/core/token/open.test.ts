import { describe, expect, test } from "bun:test";
import { TokenError } from "../../../../src/core/errors.ts";
import type { KeySets } from "../../../../src/core/keys/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { mintWrapper } from "../../../../src/core/token/mint.ts";
import { openWrapper } from "../../../../src/core/token/open.ts";
import type { VerifiedWrapper, WrapperKind } from "../../../../src/core/token/types.ts";
import { verifyWrapper } from "../../../../src/core/token/verify.ts";
import { testKeySets } from "../../../helpers/keys.ts";
import { accessHeader, flipBit, json, sealRaw, signRaw, validPayload } from "./forge.ts";

const NOW = Date.UTC(2030, 0, 1);
const ISSUER = "https://broker.test";
const keys = await testKeySets();

/** A wrapper signed with our key whose `tok` is the given JWE: verify passes, so open alone decides. */
async function verifiedWith(tok: string, kind: WrapperKind = "access"): Promise<VerifiedWrapper> {
  const header =
    kind === "access" ? accessHeader(keys) : accessHeader(keys, { typ: "surrogate-refresh+jwt" });
  const payload = validPayload(NOW, { tok, aud: kind === "access" ? "surrogate" : "surrogate-broker" });
  return verifyWrapper(await signRaw(keys, json(header), json(payload)), kind, keys, {
    issuer: ISSUER,
    now: NOW,
  });
}

function ourHeader(extra: Record<string, unknown> = {}): string {
  return json({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid, ...extra });
}

async function refused(wrapper: VerifiedWrapper, with_ = keys): Promise<string> {
  const error = await openWrapper(wrapper, with_).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).code).toBe("invalid_token");
  expect((error as TokenError).message).not.toContain("real");
  return (error as TokenError).message;
}

describe("openWrapper", () => {
  test("a hand-sealed JWE following DESIGN §5 opens", async () => {
    const tok = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real-token", type: "Bearer" }));
    const opened = await openWrapper(await verifiedWith(tok), keys);
    expect(opened.token).toBeInstanceOf(Secret);
    expect(opened.token.reveal()).toBe("real-token");
    expect(String(opened.token)).toBe("[redacted]");
  });

  test("a flipped bit in the JWE header, iv, ciphertext or tag is refused", async () => {
    const tok = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real-token", type: "Bearer" }));
    for (const segment of [0, 2, 3, 4]) {
      await refused(await verifiedWith(flipBit(tok, segment, segment === 0 ? 5 : 1)));
    }
  });

  test("a JWE under a key not in our set is refused (unknown kid, or our kid with another key)", async () => {
    const other = await testKeySets();
    const minted = await mintWrapper(
      {
        kind: "access",
        provider: "p",
        binding: { kind: "x5t#S256", value: "A".repeat(43) },
        secret: { token: new Secret("real"), type: "Bearer" },
      },
      { ...keys, encrypter: other.encrypter },
      { issuer: ISSUER, tokenTtl: 600, now: NOW },
    );
    const verified = await verifyWrapper(minted.token, "access", keys, { issuer: ISSUER, now: NOW });
    expect(await refused(verified)).toContain("unknown kid");
    const reusedKid = await sealRaw(
      other.encrypter.key,
      ourHeader(),
      json({ token: "real", type: "Bearer" }),
    );
    expect(await refused(await verifiedWith(reusedKid))).toContain("decryption failed");
  });

  test("zip, extra header members and other algorithms are refused", async () => {
    const plaintext = json({ token: "real", type: "Bearer" });
    const cases: [string, string][] = [
      [ourHeader({ zip: "DEF" }), "compressed"],
      [ourHeader({ cty: "JWT" }), "not allowed"],
      [ourHeader({ jku: "https://evil" }), "not allowed"],
      [ourHeader({ enc: "A128GCM" }), "alg dir"],
      [ourHeader({ alg: "A256KW" }), "alg dir"],
      [json({ alg: "dir", enc: "A256GCM" }), "missing kid"],
      [`{"alg":"dir","enc":"A256GCM","kid":"${keys.encrypter.kid}","kid":"x"}`, "duplicate"],
    ];
    for (const [header, fragment] of cases) {
      const tok = await sealRaw(keys.encrypter.key, header, plaintext);
      expect(await refused(await verifiedWith(tok))).toContain(fragment);
    }
  });

  test("a non-empty encrypted key or wrong part count is refused", async () => {
    const tok = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real", type: "Bearer" }));
    const parts = tok.split(".");
    parts[1] = "AAAA";
    await refused(await verifiedWith(parts.join(".")));
    await refused(await verifiedWith(tok.split(".").slice(0, 4).join(".")));
  });

  test("plaintext must be a strict JSON object with exactly token and type", async () => {
    const cases: [string, string][] = [
      ['{"token":"real","type":"Bearer","token":"other"}', "duplicate"],
      [json({ token: "real", type: "Bearer", extra: 1 }), "not allowed"],
      [json({ token: "real" }), "type"],
      [json({ token: 5, type: "Bearer" }), "token"],
      [json({ token: "", type: "Bearer" }), "token"],
      ['"real"', "not a JSON object"],
      ["real", "bad JSON"],
    ];
    for (const [plaintext, fragment] of cases) {
      const tok = await sealRaw(keys.encrypter.key, ourHeader(), plaintext);
      expect(await refused(await verifiedWith(tok))).toContain(fragment);
    }
  });

  test("type refresh opens only in a refresh wrapper; a refresh wrapper may hold a never-expiring access token", async () => {
    const refresh = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real", type: "refresh" }));
    const bearer = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real", type: "Bearer" }));
    expect((await openWrapper(await verifiedWith(refresh, "refresh"), keys)).type).toBe("refresh");
    expect(await refused(await verifiedWith(refresh, "access"))).toContain("does not fit");
    expect((await openWrapper(await verifiedWith(bearer, "refresh"), keys)).type).toBe("Bearer");
  });

  test("after rotation of the encryption key, old tok still opens", async () => {
    const tok = await sealRaw(keys.encrypter.key, ourHeader(), json({ token: "real-token", type: "Bearer" }));
    const other = await testKeySets();
    const rotated: KeySets = {
      ...keys,
      encrypter: other.encrypter,
      decrypters: new Map([...other.decrypters, ...keys.decrypters]),
    };
    expect((await openWrapper(await verifiedWith(tok), rotated)).token.reveal()).toBe("real-token");
  });
});

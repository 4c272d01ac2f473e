import { describe, expect, test } from "bun:test";
import { CompactEncrypt } from "jose";
import { generateKeySets } from "../../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../../src/core/keys/load.ts";
import { Secret } from "../../../src/core/secret.ts";
import { sealSecret } from "../../../src/core/token/seal.ts";
import {
  type FlowState,
  flowCookieName,
  openFlow,
  sealFlow,
} from "../../../src/web-port/consent/flow-cookie.ts";
import { testKeySets } from "../../helpers/keys.ts";

const NOW = 1_900_000_000_000;

function flow(overrides: Partial<FlowState> = {}): FlowState {
  return {
    grantId: "g".repeat(22),
    provider: "stub",
    state: "s".repeat(43),
    verifier: new Secret("v".repeat(43)),
    nonce: "n".repeat(43),
    exp: NOW + 60_000,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>) {
  return promise.then(
    () => "accepted",
    (error: { code?: string }) => error.code,
  );
}

describe("flow cookie", () => {
  test("round-trips, and the sealed form reveals none of state, verifier or nonce", async () => {
    const keys = await testKeySets();
    const sealed = await sealFlow(flow(), keys);
    // Twelve characters of each value, as written and base64url-encoded: long enough that random
    // ciphertext cannot contain them by chance (three could: one run in a few hundred did).
    for (const value of ["s", "v", "n"].map((c) => c.repeat(12))) {
      expect(sealed).not.toContain(value);
      expect(sealed).not.toContain(Buffer.from(value).toString("base64url"));
    }
    const opened = await openFlow(sealed, keys, NOW);
    expect(opened.state).toBe("s".repeat(43));
    expect(opened.verifier.reveal()).toBe("v".repeat(43));
    expect(opened.nonce).toBe("n".repeat(43));
    expect(opened.grantId).toBe("g".repeat(22));
  });

  test("opens after a key rotation (kid lookup), not with unrelated keys", async () => {
    const old = await generateKeySets();
    const next = await generateKeySets();
    const before = await keySetsFromJwks(old.signing, old.encryption);
    const rotated = await keySetsFromJwks(next.signing, {
      keys: [...next.encryption.keys, ...old.encryption.keys],
    });
    const sealed = await sealFlow(flow(), before);
    expect((await openFlow(sealed, rotated, NOW)).state).toBe("s".repeat(43));
    expect(await rejection(openFlow(sealed, await testKeySets(), NOW))).toBe("state_invalid");
  });

  test("expired, tampered, oversized, garbage → state_invalid", async () => {
    const keys = await testKeySets();
    const sealed = await sealFlow(flow(), keys);
    expect(await rejection(openFlow(sealed, keys, NOW + 60_000))).toBe("state_invalid");
    const parts = sealed.split(".");
    parts[3] = `${parts[3]?.slice(0, -2)}AA`;
    expect(await rejection(openFlow(parts.join("."), keys, NOW))).toBe("state_invalid");
    expect(await rejection(openFlow("x".repeat(5000), keys, NOW))).toBe("state_invalid");
    expect(await rejection(openFlow("a.b.c.d.e", keys, NOW))).toBe("state_invalid");
  });

  test("a JWE under our key but of another type (e.g. a wrapper's sealed tok) is refused", async () => {
    const keys = await testKeySets();
    const tok = await sealSecret({ token: new Secret("upstream"), type: "Bearer" }, keys);
    expect(await rejection(openFlow(tok, keys, NOW))).toBe("state_invalid");
    const lookalike = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ grantId: 1 })))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid, typ: "surrogate-flow+jwe" })
      .encrypt(keys.encrypter.key);
    expect(await rejection(openFlow(lookalike, keys, NOW))).toBe("state_invalid");
  });

  test("cookie name carries __Host- only on https", () => {
    expect(flowCookieName(true)).toBe("__Host-surrogate-flow");
    expect(flowCookieName(false)).toBe("surrogate-flow");
  });
});

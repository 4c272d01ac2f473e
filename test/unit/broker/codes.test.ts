import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  deviceKeyOf,
  formatUserCode,
  generateDeviceCode,
  generateGrantId,
  generateUserCode,
  normalizeUserCode,
  USER_CODE_ALPHABET,
} from "../../../src/broker/codes.ts";

describe("user codes", () => {
  test("8 characters from the consonant alphabet, no vowels or digits", () => {
    expect(USER_CODE_ALPHABET).toBe("BCDFGHJKLMNPQRSTVWXZ");
    for (let i = 0; i < 200; i += 1) expect(generateUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
  });

  test("every letter of the alphabet occurs, roughly uniformly (no modulo bias)", () => {
    const counts = new Map<string, number>();
    const draws = 40_000;
    for (let i = 0; i < draws; i += 1) {
      for (const char of generateUserCode()) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    const expected = (draws * 8) / USER_CODE_ALPHABET.length; // 16 000 per letter, σ ≈ 123
    expect(counts.size).toBe(20);
    // With `byte % 20` the last 4 letters would get 12/256 instead of 1/20: 6.25 % (≈ 8σ) short.
    // ±4 % (≈ 5σ: a false alarm about once in 250 000 runs) catches that.
    for (const [, count] of counts) {
      expect(count).toBeGreaterThan(expected * 0.96);
      expect(count).toBeLessThan(expected * 1.04);
    }
  });

  test("codes do not repeat", () => {
    const codes = new Set(Array.from({ length: 1000 }, generateUserCode));
    expect(codes.size).toBeGreaterThan(995);
  });

  test("formatted as XXXX-XXXX", () => {
    expect(formatUserCode("BCDFGHJK")).toBe("BCDF-GHJK");
  });

  test("normalisation forgives case, dashes and spaces", () => {
    expect(normalizeUserCode("BCDF-GHJK")).toBe("BCDFGHJK");
    expect(normalizeUserCode("bcdf-ghjk")).toBe("BCDFGHJK");
    expect(normalizeUserCode(" bcdf ghjk ")).toBe("BCDFGHJK");
    expect(normalizeUserCode("BCDFGHJK")).toBe("BCDFGHJK");
    const code = generateUserCode();
    expect(normalizeUserCode(formatUserCode(code).toLowerCase())).toBe(code);
  });

  test("normalisation refuses anything else", () => {
    for (const input of [
      "",
      "BCDF-GHJ",
      "BCDF-GHJKL",
      "ABCD-EFGH", // vowels are not in the alphabet
      "BCDF-GHJ1",
      "BCDF_GHJK",
      "BCDF.GHJK",
      "BCDF-GHJK\u0000",
      "ＢＣＤＦ-ＧＨＪＫ", // full-width letters
      `BCDF${" ".repeat(40)}GHJK`,
    ]) {
      expect(normalizeUserCode(input)).toBeUndefined();
    }
  });
});

describe("device codes and grant ids", () => {
  test("device codes carry 256 random bits, base64url", () => {
    const code = generateDeviceCode();
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(code, "base64url").byteLength).toBe(32);
    expect(generateDeviceCode()).not.toBe(code);
  });

  test("the stored key is base64url SHA-256 of the device code", () => {
    const code = randomBytes(32).toString("base64url");
    expect(deviceKeyOf(code)).toBe(createHash("sha256").update(code).digest("base64url"));
    expect(deviceKeyOf(code)).not.toBe(code);
    expect(deviceKeyOf(`${code}x`)).not.toBe(deviceKeyOf(code));
  });

  test("grant ids carry at least 128 random bits", () => {
    const id = generateGrantId();
    expect(Buffer.from(id, "base64url").byteLength).toBeGreaterThanOrEqual(16);
    expect(new Set(Array.from({ length: 100 }, generateGrantId)).size).toBe(100);
  });
});

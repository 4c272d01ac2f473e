/**
 * The random values of the device flow: user codes people type, device codes agents poll with, and
 * grant ids the web flow uses. All come from the CSPRNG (RFC 8628 §5.1, §5.2).
 */
import { createHash, randomBytes } from "node:crypto";

/**
 * RFC 8628 §6.1: consonants only, no vowels (no accidental words) and none of the easily confused
 * characters. 20^8 ≈ 2^34.6 codes; brute force is bounded by the short grant lifetime and caps.
 */
export const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const USER_CODE_LENGTH = 8;

/** The largest multiple of the alphabet size that fits in a byte: bytes at or above it are redrawn. */
const UNBIASED_LIMIT = 256 - (256 % USER_CODE_ALPHABET.length);
/** Anything longer than a code with generous separators is not a user code; never scan it. */
const MAX_USER_CODE_INPUT = 32;

/**
 * Uniform over the alphabet: `byte % 20` alone would favour the first 16 letters (256 is not a
 * multiple of 20), so bytes ≥ 240 are rejected and redrawn.
 */
export function generateUserCode(): string {
  let code = "";
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of randomBytes(USER_CODE_LENGTH)) {
      if (byte >= UNBIASED_LIMIT || code.length === USER_CODE_LENGTH) continue;
      code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
    }
  }
  return code;
}

/** `BCDFGHJK` → `BCDF-GHJK`: the dash makes the code easier to read and type (RFC 8628 §6.1). */
export function formatUserCode(code: string): string {
  return `${code.slice(0, USER_CODE_LENGTH / 2)}-${code.slice(USER_CODE_LENGTH / 2)}`;
}

/**
 * What a person typed → the stored form, or undefined when it cannot be a user code. Case,
 * dashes and spaces are forgiven (RFC 8628 §6.1 recommends it); any other character is not.
 */
export function normalizeUserCode(input: string): string | undefined {
  if (input.length > MAX_USER_CODE_INPUT) return undefined;
  const code = input.replace(/[\s-]/g, "").toUpperCase();
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined;
  return code;
}

/** 256 bits: the device code is a bearer credential for collecting the result (RFC 8628 §5.2). */
export function generateDeviceCode(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Only this digest is stored, so a leaked rendezvous store (or Redis dump) yields nothing an
 * attacker can poll with. A fast hash suffices: the input has 256 bits of entropy.
 */
export function deviceKeyOf(deviceCode: string): string {
  return createHash("sha256").update(deviceCode, "utf8").digest("base64url");
}

/** 128 bits: grant ids appear in the web flow's state and must not be guessable. */
export function generateGrantId(): string {
  return randomBytes(16).toString("base64url");
}

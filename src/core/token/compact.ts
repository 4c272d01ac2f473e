import { TokenError } from "../errors.ts";
import { DuplicateMemberError, parseStrictJson } from "../io/strict-json.ts";

/**
 * Upper bound on a wrapper, checked before any parsing or crypto so oversized input costs nothing
 * (RFC 8725 §2.1 spirit: bound what an attacker can make us process). Real wrappers are ~1–4 KiB.
 */
export const MAX_WRAPPER_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function invalid(message: string): TokenError {
  return new TokenError("invalid_token", message);
}

/**
 * Splits a compact serialization into exactly `count` base64url segments. `emptyAllowed` names
 * the positions that may be empty (the JWE encrypted key under `dir`, RFC 7516 §5.1 step 5).
 */
export function splitCompact(
  text: string,
  count: 3 | 5,
  what: string,
  emptyAllowed: number[] = [],
): string[] {
  const parts = text.split(".");
  if (parts.length !== count) throw invalid(`${what}: not a compact serialization with ${count} parts`);
  parts.forEach((part, index) => {
    if (part === "" && emptyAllowed.includes(index)) return;
    if (!BASE64URL.test(part)) throw invalid(`${what}: part ${index + 1} is not base64url`);
    // RFC 4648 §3.5: a decoder may reject non-zero pad bits, and we must. jose decodes the
    // signature leniently, so one wrapper would otherwise have up to 16 valid spellings (a last
    // character differing only in unused bits), each a different cache key and string identity.
    if (Buffer.from(part, "base64url").toString("base64url") !== part) {
      throw invalid(`${what}: part ${index + 1} is not canonical base64url`);
    }
  });
  return parts;
}

/** base64url → bytes, refusing lengths no encoder produces (RFC 7515 §2: no padding, no other characters). */
export function decodeSegment(segment: string, what: string): Uint8Array {
  if (segment.length % 4 === 1) throw invalid(`${what}: bad base64url length`);
  return new Uint8Array(Buffer.from(segment, "base64url"));
}

/** A segment that must be a UTF-8 JSON object without duplicate members (RFC 7515 §5.2 step 3–4). */
export function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeSegment(segment, what);
  return parseJsonObject(bytes, what);
}

export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(utf8.decode(bytes));
  } catch (error) {
    const reason = error instanceof DuplicateMemberError ? "duplicate member" : "bad JSON";
    throw invalid(`${what}: ${reason}`);
  }
  if (!isRecord(value)) throw invalid(`${what}: not a JSON object`);
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Only the listed header parameters may appear; anything else is refused rather than ignored. */
export function allowOnly(header: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const name of Object.keys(header)) {
    if (!allowed.includes(name)) throw invalid(`${what}: member "${safeName(name)}" not allowed`);
  }
}

/** Echo a parameter name only when it is short and plain, so messages never carry arbitrary input. */
function safeName(name: string): string {
  return /^[A-Za-z0-9#_-]{1,16}$/.test(name) ? name : "?";
}

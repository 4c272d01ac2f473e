/**
 * The byte sequences an upstream that echoes its request back would produce from the injected
 * token: the token itself, its JSON-escaped and percent-encoded spellings, and its base64 forms
 * (Basic credentials, or a whole header block base64-encoded into a JSON field). Derived once per
 * decrypted token and kept with it (the Secret object lives in the proxy's verification cache).
 *
 * What is NOT caught, by choice: spellings an echo rarely produces (HTML entities, `\u00xx`
 * escapes, hex, MIME base64 wrapped at 76 columns) and anything an upstream deliberately transforms.
 * Scrubbing is defence in depth against plain reflection; the host allow-list (DESIGN §2) is the
 * control that decides who can receive the token at all.
 */
import type { Secret } from "../core/secret.ts";

/**
 * Derived spellings shorter than this are skipped: their bytes could turn up by chance in a binary
 * body and corrupt it. The raw token is always scrubbed, whatever its length.
 */
const MIN_DERIVED = 12;

const cache = new WeakMap<Secret, readonly Uint8Array[]>();
const encoder = new TextEncoder();

/** The patterns for one token, computed once per Secret object. */
export function leakPatternsOf(token: Secret): readonly Uint8Array[] {
  let patterns = cache.get(token);
  if (patterns === undefined) {
    patterns = leakPatterns(token.reveal());
    cache.set(token, patterns);
  }
  return patterns;
}

/** Distinct spellings, longest first; the raw token is always among them. */
export function leakPatterns(token: string): Uint8Array[] {
  const derived = [...escapedForms(token), ...percentForms(token), ...base64Cores(token)].filter(
    (form) => form.length >= MIN_DERIVED,
  );
  const unique = [...new Set([token, ...derived])].filter((form) => form !== "");
  return unique.sort((a, b) => b.length - a.length).map((form) => encoder.encode(form));
}

/** JSON string escaping (RFC 8259 §7), with and without the optional `\/` many encoders emit. */
function escapedForms(token: string): string[] {
  const json = JSON.stringify(token).slice(1, -1);
  return [json, json.replaceAll("/", "\\/")];
}

/** RFC 3986 §2.1 percent-encoding; both hex cases are equivalent and both are seen in the wild. */
function percentForms(token: string): string[] {
  const upper = encodeURIComponent(token);
  return [upper, upper.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())];
}

/**
 * Base64 (RFC 4648 §4) and base64url (§5) of the token at each of the three byte alignments it can
 * have inside a longer encoded string (`user:token`, a JSON document). Only the characters whose six
 * bits all come from the token are kept, so the pattern matches whatever surrounds it.
 */
function base64Cores(token: string): string[] {
  const bytes = encoder.encode(token);
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset += 1) {
    const padded = new Uint8Array(offset + bytes.length);
    padded.set(bytes, offset);
    const encoded = Buffer.from(padded).toString("base64");
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const core = encoded.slice(start, end);
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

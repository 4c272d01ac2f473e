import { compactDecrypt, decodeProtectedHeader } from "jose";
import type { KeySets } from "../keys/types.ts";

/**
 * Opens what `sealJson` sealed with a `typ` (browser-held state: flow cookie, admin session and
 * login). The key is found by `kid`, so a rotation mid-flow still opens; only `dir` + A256GCM is
 * accepted, and only this `typ`, so one use's value is never accepted as another's. Anything longer
 * than `maxBytes` is not ours and is not decrypted. Returns the JSON object inside, or undefined for
 * anything else: callers answer every failure the same way.
 */
export async function unsealJson(
  sealed: string,
  typ: string,
  keys: KeySets,
  maxBytes: number,
): Promise<Record<string, unknown> | undefined> {
  if (sealed.length > maxBytes) return undefined;
  try {
    const header = decodeProtectedHeader(sealed);
    const key = typeof header.kid === "string" ? keys.decrypters.get(header.kid) : undefined;
    if (key === undefined || header.typ !== typ) return undefined;
    const { plaintext } = await compactDecrypt(sealed, key.key, {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    const value: unknown = JSON.parse(new TextDecoder().decode(plaintext));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The admin's browser-held state (session, provider-login state) as compact JWE (`dir`, `A256GCM`)
 * under the broker's encryption key, like the web flow cookie (src/web/flow-cookie.ts): no server
 * store, any instance with the keys can read it, the browser can neither read nor alter it. Each
 * use has its own `typ` (RFC 8725 §3.11), so a session is never accepted as a flow cookie or a
 * wrapper's `tok`, nor the reverse.
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from "jose";
import type { KeySets } from "../../core/keys/types.ts";

export type SealedTyp = "surrogate-admin-session+jwe" | "surrogate-admin-login+jwe";

/** Admin cookies hold a few short fields; anything far larger is not ours and is not decrypted. */
const MAX_SEALED = 4096;

export async function seal(payload: Record<string, unknown>, typ: SealedTyp, keys: KeySets): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify(payload));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid, typ })
    .encrypt(keys.encrypter.key);
}

/** The JSON object inside, or undefined for anything not sealed by these keys with this `typ`. */
export async function unseal(
  sealed: string,
  typ: SealedTyp,
  keys: KeySets,
): Promise<Record<string, unknown> | undefined> {
  if (sealed.length > MAX_SEALED) return undefined;
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

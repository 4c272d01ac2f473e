import { compactDecrypt } from "jose";
import type { EncryptionKey, KeySets } from "../keys/types.ts";
import { Secret } from "../secret.ts";
import { allowOnly, decodeJsonObject, invalid, parseJsonObject, splitCompact } from "./compact.ts";
import type { SealedSecret, VerifiedWrapper, WrapperKind } from "./types.ts";

/**
 * Exactly the header `mint` writes (DESIGN §5). `zip` is refused: decompressing attacker-sized
 * data and compressing secrets are both avoided (RFC 8725 §3.6); any other parameter is refused
 * rather than ignored, like the JWS header.
 */
const JWE_HEADER_PARAMS = ["alg", "enc", "kid"] as const;
const SECRET_MEMBERS = ["token", "type"] as const;
const MAX_TYPE_LENGTH = 64;

/**
 * Decrypts `tok` of a wrapper that already passed `verifyWrapper` (the type makes the order
 * explicit). Call only after the certificate binding was checked: nothing is decrypted for a
 * caller who could not use it anyway.
 */
export function openWrapper(wrapper: VerifiedWrapper, keys: KeySets): Promise<SealedSecret> {
  return openSealed(wrapper.sealed, wrapper.kind, keys);
}

/**
 * Decrypts a sealed secret (a wrapper's `tok`, or the copy a login record keeps for upstream
 * revocation) that must hold a `kind` token: a refresh token never opens as an access token.
 */
export async function openSealed(sealed: string, kind: WrapperKind, keys: KeySets): Promise<SealedSecret> {
  const parts = splitCompact(sealed, 5, "tok", [1]);
  if (parts[1] !== "") throw invalid("tok: dir encryption carries no encrypted key");
  const key = keyFor(decodeJsonObject(parts[0]!, "tok header"), keys);
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(sealed, key.key, {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
    }));
  } catch {
    throw invalid("tok: decryption failed");
  }
  return secretOf(parseJsonObject(plaintext, "tok plaintext"), kind);
}

function keyFor(header: Record<string, unknown>, keys: KeySets): EncryptionKey {
  if ("zip" in header) throw invalid("tok: compressed JWE not accepted");
  allowOnly(header, JWE_HEADER_PARAMS, "tok");
  if (header.alg !== "dir" || header.enc !== "A256GCM") throw invalid("tok: must be alg dir, enc A256GCM");
  if (typeof header.kid !== "string") throw invalid("tok: missing kid");
  const key = keys.decrypters.get(header.kid);
  if (key === undefined) throw invalid("tok: unknown kid");
  return key;
}

/**
 * A refresh token must never travel in an access wrapper (it would be sent upstream). A refresh
 * wrapper holds a refresh token or, for a token that never expires, that access token (DESIGN §5).
 */
function secretOf(plaintext: Record<string, unknown>, kind: WrapperKind): SealedSecret {
  allowOnly(plaintext, SECRET_MEMBERS, "tok plaintext");
  const { token, type } = plaintext;
  if (typeof token !== "string" || token === "") throw invalid("tok plaintext: token missing");
  if (typeof type !== "string" || type === "" || type.length > MAX_TYPE_LENGTH) {
    throw invalid("tok plaintext: type missing");
  }
  if (kind === "access" && type === "refresh") throw invalid("tok plaintext: type does not fit the wrapper");
  return { token: new Secret(token), type };
}

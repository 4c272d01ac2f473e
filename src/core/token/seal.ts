import { CompactEncrypt } from "jose";
import type { KeySets } from "../keys/types.ts";
import type { SealedSecret } from "./types.ts";

const encoder = new TextEncoder();

/**
 * Encrypts the upstream secret into the `tok` claim (DESIGN §5): JWE compact, `dir` + A256GCM
 * under the first encryption key, `kid` naming it so rotated keys still decrypt (RFC 7516 §4.1.6).
 * No `zip`: compressing secret-bearing plaintext invites length side channels (RFC 8725 §3.6).
 */
export function sealSecret(secret: SealedSecret, keys: KeySets): Promise<string> {
  const plaintext = encoder.encode(JSON.stringify({ token: secret.token.reveal(), type: secret.type }));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid })
    .encrypt(keys.encrypter.key);
}

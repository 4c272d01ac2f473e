import { CompactEncrypt } from "jose";
import type { KeySets } from "../keys/types.ts";
import type { SealedSecret } from "./types.ts";

const encoder = new TextEncoder();

/**
 * The one sealer: JSON as compact JWE, `dir` + A256GCM under the current encryption key, `kid`
 * naming it so values sealed before a rotation still open (RFC 7516 §4.1.6). Used for the wrapper's
 * `tok` and for the browser-held state of the web port (flow cookie, admin session and login). No
 * `zip`: compressing secret-bearing plaintext invites length side channels (RFC 8725 §3.6).
 * `typ` separates the browser-held uses from each other and from `tok` (RFC 8725 §3.11).
 */
export function sealJson(payload: object, keys: KeySets, typ?: string): Promise<string> {
  const header = { alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid };
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader(typ === undefined ? header : { ...header, typ })
    .encrypt(keys.encrypter.key);
}

/** The upstream secret as the `tok` claim (DESIGN §5): exactly `alg`, `enc`, `kid` in its header. */
export function sealSecret(secret: SealedSecret, keys: KeySets): Promise<string> {
  return sealJson({ token: secret.token.reveal(), type: secret.type }, keys);
}

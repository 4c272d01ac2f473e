/**
 * Sealing for rendezvous records kept outside the process (Redis). Whoever can read or write Redis
 * must learn nothing useful and change nothing unnoticed: every value is AES-256-GCM with the key
 * name it is stored under as additional data, so a value edited, truncated, copied under another
 * name or written without our keys does not open; every key name is an HMAC of what it indexes, so
 * no user code, device key or grant id appears in a name.
 *
 * Both keys are derived (HKDF-SHA256, RFC 5869 §2) from each key of the broker's encryption set,
 * with a distinct `info` per purpose: the AES key that seals wrappers' `tok` claims is never used
 * for anything else. The seal names the kid it was made under, so records sealed before a rotation
 * still open while their key remains in the set; lookups try the name under every key, the
 * current one first. The derived keys are used through node:crypto, synchronously: a poll opens
 * several records, and each asynchronous WebCrypto call costs more than the cipher work itself.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import type { EncryptionKey, KeySets } from "../../core/keys/types.ts";

export interface RecordSealer {
  /** Name tags for `value` of `kind`, one per key of the set, the current key's first. */
  tags(kind: string, value: string): Promise<string[]>;
  /** Seals `plaintext` under the current key, bound to `name` (the full Redis key). */
  seal(name: string, plaintext: string): Promise<string>;
  /** The plaintext, or undefined when `sealed` was not made by us for exactly `name`. */
  open(name: string, sealed: string): Promise<string | undefined>;
}

const VERSION = "v1";
const SEAL_INFO = "surrogate rendezvous record seal v1";
const NAME_INFO = "surrogate rendezvous key name v1";
/** GCM's recommended 96-bit nonce (NIST SP 800-38D §8.2); random per seal, far below 2^32 seals per key. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Our largest value is a token response of a few KiB; anything far larger was not written by us. */
const MAX_SEALED_CHARS = 512 * 1024;

/** Raw derived keys (the encryption key itself stays a non-extractable CryptoKey). */
interface Derived {
  seal: Uint8Array;
  name: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
/** Per key object: a reload builds new objects, and the old derivations go with them. */
const derivations = new WeakMap<EncryptionKey, Promise<Derived>>();

export function createRecordSealer(keys: () => KeySets): RecordSealer {
  return {
    async tags(kind, value) {
      const derivedKeys = await Promise.all(inOrder(keys()).map(derived));
      const data = `${kind}\0${value}`;
      return derivedKeys.map(({ name }) =>
        createHmac("sha256", name).update(data, "utf8").digest("base64url"),
      );
    },
    async seal(name, plaintext) {
      const current = keys().encrypter;
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const cipher = createCipheriv("aes-256-gcm", (await derived(current)).seal, iv);
      cipher.setAAD(encoder.encode(name));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, b64(encoder.encode(current.kid)), b64(iv), b64(body)].join(".");
    },
    async open(name, sealed) {
      const parts = sealed.length <= MAX_SEALED_CHARS ? sealed.split(".") : [];
      if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
      const key = keys().decrypters.get(Buffer.from(parts[1]!, "base64url").toString("utf8"));
      const iv = Buffer.from(parts[2]!, "base64url");
      const body = Buffer.from(parts[3]!, "base64url");
      if (key === undefined || iv.length !== IV_BYTES || body.length < TAG_BYTES) return undefined;
      const cut = body.length - TAG_BYTES;
      try {
        const decipher = createDecipheriv("aes-256-gcm", (await derived(key)).seal, iv, {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(encoder.encode(name));
        decipher.setAuthTag(body.subarray(cut));
        return decoder.decode(Buffer.concat([decipher.update(body.subarray(0, cut)), decipher.final()]));
      } catch {
        return undefined;
      }
    },
  };
}

/** The current key first, then every other key that still decrypts (DESIGN §6 rotation). */
function inOrder(keys: KeySets): EncryptionKey[] {
  const others = [...keys.decrypters.values()].filter((key) => key.kid !== keys.encrypter.kid);
  return [keys.encrypter, ...others];
}

function derived(key: EncryptionKey): Promise<Derived> {
  let found = derivations.get(key);
  if (found === undefined) {
    found = derive(key.derive);
    derivations.set(key, found);
  }
  return found;
}

async function derive(base: CryptoKey): Promise<Derived> {
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(0),
    info: encoder.encode(info),
  });
  const [seal, name] = await Promise.all([
    crypto.subtle.deriveBits(hkdf(SEAL_INFO), base, 256),
    crypto.subtle.deriveBits(hkdf(NAME_INFO), base, 256),
  ]);
  return { seal: new Uint8Array(seal), name: new Uint8Array(name) };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

import type { KeySets } from "../core/keys/types.ts";
import type { SealedSecret, VerifiedWrapper } from "../core/token/types.ts";

/** A wrapper whose signature, claims and certificate binding checked out, and its opened secret. */
export interface OpenedWrapper {
  wrapper: VerifiedWrapper;
  secret: SealedSecret;
}

export const DEFAULT_CACHE_SIZE = 10_000;

/**
 * A bounded LRU of opened wrappers (DESIGN §10: the proxy may cache verification results, never past
 * `exp`). The key is SHA-256 of the wrapper plus the presenting certificate's thumbprint, so a hit
 * proves the same wrapper arrived over the same certificate that passed the binding check; only
 * successes are stored, so a binding mismatch is re-checked (and refused) every time. A new KeySets
 * object (rotation, a key withdrawn) empties the cache, so a withdrawn key stops working at once.
 */
export class WrapperCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, OpenedWrapper>();
  #keys: KeySets | undefined;
  /** The last wrapper and certificate looked up and their key: an agent sends the same wrapper every time. */
  #lastToken = "";
  #lastThumbprint = "";
  #lastKey = "";
  /** The key inserted or moved last: the end of the LRU order. */
  #newest: string | undefined;

  constructor(maxEntries = DEFAULT_CACHE_SIZE) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `now` is epoch milliseconds; an entry is served only while now < exp. */
  get(token: string, thumbprint: string, keys: KeySets, now: number): OpenedWrapper | undefined {
    this.#bindKeys(keys);
    const key = this.#keyOf(token, thumbprint);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.wrapper.exp * 1000) {
      this.#entries.delete(key);
      return undefined;
    }
    // Most recently used goes last; the last key looked up is usually there already.
    if (key !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = key;
    }
    return entry;
  }

  /** Store only after every check passed, including the certificate binding. */
  set(token: string, thumbprint: string, keys: KeySets, entry: OpenedWrapper): void {
    if (this.#maxEntries <= 0) return;
    this.#bindKeys(keys);
    const key = this.#keyOf(token, thumbprint);
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#newest = key;
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  #bindKeys(keys: KeySets): void {
    if (this.#keys === keys) return;
    this.#entries.clear();
    this.#newest = undefined;
    this.#keys = keys;
  }

  /** Exact string equality decides a reuse of the key, so the memo can never mix up two wrappers. */
  #keyOf(token: string, thumbprint: string): string {
    if (token !== this.#lastToken || thumbprint !== this.#lastThumbprint) {
      const digest = new Bun.CryptoHasher("sha256").update(token).digest("base64url");
      this.#lastKey = `${digest}.${thumbprint}`;
      this.#lastToken = token;
      this.#lastThumbprint = thumbprint;
    }
    return this.#lastKey;
  }
}

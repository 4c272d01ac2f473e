/**
 * An in-memory map whose entries expire after a fixed lifetime and whose size is capped, so a
 * client hammering the IdP (./idp.ts) cannot grow its memory without bound. When full, expired entries
 * go first, then the oldest ones (a Map iterates in insertion order).
 */
export class TtlMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  set(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) this.#evict();
    this.#entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  /** Removes and returns the entry: codes and refresh tokens are single-use. */
  take(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return entry.expiresAt > this.now() ? entry.value : undefined;
  }

  /** Returns the entry and keeps it (a refresh token that does not rotate). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > this.now() ? entry.value : undefined;
  }

  /** Removes the entry; false when there was none live (revocation of an unknown token). */
  delete(key: string): boolean {
    const live = this.get(key) !== undefined;
    this.#entries.delete(key);
    return live;
  }

  get size(): number {
    return this.#entries.size;
  }

  #evict(): void {
    const now = this.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    const oldest = this.#entries.keys().next();
    if (this.#entries.size >= this.maxEntries && oldest.done !== true) this.#entries.delete(oldest.value);
  }
}

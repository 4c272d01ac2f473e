import { timingSafeEqual } from "node:crypto";

const REDACTED = "[redacted]";
const encoder = new TextEncoder();

/**
 * A secret value (upstream token, client secret, device code …). Every way an object usually turns
 * into text — template strings, JSON, console/inspect — yields `[redacted]`; only `reveal()` gives the
 * value, so each place that needs it is explicit and greppable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison: the time taken does not depend on where the first difference is. */
  equals(other: string | Secret): boolean {
    return constantTimeEqual(this.#value, typeof other === "string" ? other : other.reveal());
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Compares two strings without an early exit. Lengths are compared via fixed-size digests so the
 * length of the secret is not revealed by timing either.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = new Bun.CryptoHasher("sha256").update(encoder.encode(a)).digest();
  const db = new Bun.CryptoHasher("sha256").update(encoder.encode(b)).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

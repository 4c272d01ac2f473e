/**
 * JSON parsing that refuses duplicate object members. `JSON.parse` silently keeps the last
 * duplicate, so two parties can read different values from the same bytes; RFC 7515 §5.2 and
 * RFC 7519 §4 require rejecting such input (RFC 8725 §3.1 / §2.8). Keys are compared after
 * unescaping, so `"a"` and `"\u0061"` count as the same member.
 */

const MAX_DEPTH = 32;
const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

export class StrictJsonError extends Error {}

/** The input is valid JSON, but an object repeats a member name. */
export class DuplicateMemberError extends StrictJsonError {}

/** Parses `text` as JSON, throwing StrictJsonError on syntax errors, duplicates or deep nesting. */
export function parseStrictJson(text: string): unknown {
  const scanner = new Scanner(text);
  scanner.value(0);
  scanner.skipWhitespace();
  if (!scanner.atEnd()) throw new StrictJsonError("trailing characters after JSON value");
  try {
    return JSON.parse(text);
  } catch {
    throw new StrictJsonError("not valid JSON");
  }
}

/** Walks the text once to find duplicate members; JSON.parse remains the authority on syntax. */
class Scanner {
  #pos = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  atEnd(): boolean {
    return this.#pos >= this.#text.length;
  }

  skipWhitespace(): void {
    while (WHITESPACE.has(this.#text.charAt(this.#pos))) this.#pos++;
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) throw new StrictJsonError("JSON nested too deeply");
    this.skipWhitespace();
    const c = this.#text.charAt(this.#pos);
    if (c === "{") this.#object(depth);
    else if (c === "[") this.#array(depth);
    else if (c === '"') this.#string();
    else this.#scalar();
  }

  #object(depth: number): void {
    this.#pos++;
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.#eat("}")) return;
    do {
      this.skipWhitespace();
      const key = this.#string();
      if (seen.has(key)) {
        // The member name is not echoed: it may come from an attacker and messages stay input-free.
        throw new DuplicateMemberError("duplicate member");
      }
      seen.add(key);
      this.skipWhitespace();
      this.#expect(":");
      this.value(depth + 1);
      this.skipWhitespace();
    } while (this.#eat(","));
    this.#expect("}");
  }

  #array(depth: number): void {
    this.#pos++;
    this.skipWhitespace();
    if (this.#eat("]")) return;
    do {
      this.value(depth + 1);
      this.skipWhitespace();
    } while (this.#eat(","));
    this.#expect("]");
  }

  #string(): string {
    const start = this.#pos;
    this.#expect('"');
    while (this.#pos < this.#text.length) {
      const c = this.#text.charAt(this.#pos++);
      if (c === "\\") this.#pos++;
      else if (c === '"') return this.#decode(this.#text.slice(start, this.#pos));
    }
    throw new StrictJsonError("unterminated string");
  }

  #decode(literal: string): string {
    try {
      return JSON.parse(literal) as string;
    } catch {
      throw new StrictJsonError("invalid string");
    }
  }

  /** Numbers, true, false, null: consumed up to the next structural character; JSON.parse validates them. */
  #scalar(): void {
    const start = this.#pos;
    while (this.#pos < this.#text.length && !/[\s,\]}:]/.test(this.#text.charAt(this.#pos))) this.#pos++;
    if (this.#pos === start) throw new StrictJsonError("expected a JSON value");
  }

  #eat(c: string): boolean {
    if (this.#text.charAt(this.#pos) !== c) return false;
    this.#pos++;
    return true;
  }

  #expect(c: string): void {
    if (!this.#eat(c)) throw new StrictJsonError(`expected "${c}"`);
  }
}

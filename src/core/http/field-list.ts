/**
 * The fields of a request on its way upstream, in the order the agent sent them, names lower-cased.
 * A `Headers` object would do, but the proxy builds one per request and Headers is a native object
 * whose every call crosses into the runtime and whose iteration sorts and combines; the byte relay
 * only needs to append, replace and write them out. Repeated fields stay separate lines, which
 * RFC 9110 §5.3 makes equivalent to one combined line.
 */
export class FieldList implements Iterable<readonly [string, string]> {
  readonly #fields: Array<readonly [string, string]> = [];

  append(name: string, value: string): void {
    this.#fields.push([name.toLowerCase(), value]);
  }

  /** Replaces every field of this name with one, at the end. */
  set(name: string, value: string): void {
    this.delete(name);
    this.#fields.push([name.toLowerCase(), value]);
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    for (let index = this.#fields.length - 1; index >= 0; index -= 1)
      if (this.#fields[index]?.[0] === lower) this.#fields.splice(index, 1);
  }

  /** The values of this name joined as Headers would (", "), or null. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    let value: string | null = null;
    for (const [field, text] of this.#fields)
      if (field === lower) value = value === null ? text : `${value}, ${text}`;
    return value;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  /** Another list with the same fields, to change without changing this one. */
  clone(): FieldList {
    const copy = new FieldList();
    copy.#fields.push(...this.#fields);
    return copy;
  }

  [Symbol.iterator](): Iterator<readonly [string, string]> {
    return this.#fields[Symbol.iterator]();
  }

  /** For fetch, on the handler's path. */
  toHeaders(): Headers {
    const headers = new Headers();
    for (const [name, value] of this.#fields) headers.append(name, value);
    return headers;
  }
}

/** Accumulates a stream's text and resolves waiters once a pattern appears (no timing involved). */
export class TextCollector {
  text = "";
  #waiters: Array<() => void> = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      this.text += decoder.decode(chunk.value, { stream: true });
      for (const wake of this.#waiters.splice(0)) wake();
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this.text.match(pattern);
      if (match !== null) return match;
      const ended = await Promise.race([
        new Promise<false>((wake) => this.#waiters.push(() => wake(false))),
        this.done.then(() => true),
      ]);
      if (ended && this.text.match(pattern) === null)
        throw new Error(`stream ended without ${pattern}:\n${this.text}`);
    }
  }
}

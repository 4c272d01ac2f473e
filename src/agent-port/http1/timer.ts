/**
 * One deadline per connection, re-armed lazily: moving the deadline is an assignment, and the one
 * timer is only replaced when the new deadline is earlier than the armed one. A request/response
 * cycle therefore costs no timer allocation on a busy keep-alive connection.
 */
/** setTimeout's largest delay (2^31 − 1 ms, ~24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadline {
  #due = Number.POSITIVE_INFINITY;
  #firesAt = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly onExpire: () => void) {}

  /** The connection must make its next step within `ms` milliseconds from now. */
  set(ms: number): void {
    this.#due = performance.now() + ms;
    if (this.#due < this.#firesAt) this.#arm(ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = this.#firesAt = Number.POSITIVE_INFINITY;
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    const delay = Math.min(ms, MAX_TIMER_MS);
    this.#firesAt = performance.now() + delay;
    this.#timer = setTimeout(() => this.#check(), delay);
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = undefined;
    this.#firesAt = Number.POSITIVE_INFINITY;
    const left = this.#due - performance.now();
    if (left > 0) this.#arm(left);
    else this.onExpire();
  }
}

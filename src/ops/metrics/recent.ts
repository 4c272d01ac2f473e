/**
 * The most recent audit events, for the admin overview. Only a fixed list of fields is kept, each
 * cut to a bounded length: the page shows what happened, never a request's raw content, and the
 * audit events themselves never carry secrets (src/ops/log/logger.ts).
 */
import type { LogFields } from "../log/logger.ts";

export interface RecentEvent {
  /** Epoch ms. */
  at: number;
  event: string;
  fields: Readonly<Record<string, string>>;
}

const SHOWN_FIELDS = [
  "outcome",
  "workload",
  "provider",
  "reason",
  "code",
  "by",
  "scope",
  "jti",
  "sub",
  "status",
  "host",
] as const;
const MAX_VALUE = 200;
const DEFAULT_CAPACITY = 100;

export class RecentEvents {
  readonly #events: RecentEvent[] = [];

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  add(at: number, event: string, fields: LogFields): void {
    const kept: Record<string, string> = {};
    for (const name of SHOWN_FIELDS) {
      const value = fields[name];
      if (value === undefined || value === null) continue;
      const text = String(value);
      kept[name] = text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
    }
    this.#events.push({ at, event: event.slice(0, 64), fields: kept });
    if (this.#events.length > this.capacity) this.#events.shift();
  }

  /** Newest first. */
  list(limit = this.capacity): RecentEvent[] {
    return this.#events.slice(-limit).reverse();
  }
}

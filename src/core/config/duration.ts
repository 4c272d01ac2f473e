import { ConfigError } from "../errors.ts";

const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const DURATION = /^(?:\d{1,9}[dhms])+$/;
const PART = /(\d{1,9})([dhms])/g;

/** Upper bound for any duration: larger values are typos, and keep arithmetic on epoch ms exact. */
export const MAX_DURATION_SECONDS = 366 * 86_400;

/**
 * Parses `"90s"`, `"15m"`, `"1h"`, `"1d"`, compounds like `"1h30m"`, or a bare number of seconds,
 * into whole seconds. Zero and negative durations are refused: every duration in the configuration
 * is a lifetime or a timeout, where zero would mean "never valid" or "fail at once".
 */
export function parseDuration(text: string | number, key: string): number {
  const seconds = typeof text === "number" ? fromNumber(text, key) : fromText(text, key);
  if (seconds <= 0) throw new ConfigError(key, "must be a positive duration");
  if (seconds > MAX_DURATION_SECONDS) throw new ConfigError(key, "must be at most 366d");
  return seconds;
}

function fromNumber(value: number, key: string): number {
  if (!Number.isInteger(value)) throw new ConfigError(key, "must be a whole number of seconds");
  return value;
}

function fromText(text: string, key: string): number {
  if (!DURATION.test(text)) {
    throw new ConfigError(
      key,
      `must be a duration such as "90s", "15m", "1h" or "1h30m" (got ${JSON.stringify(clip(text))})`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? ""] ?? 0);
  }
  return total;
}

/** Durations are not secret, but the echo is bounded so a pasted blob cannot flood the log. */
function clip(text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}…` : text;
}

/**
 * RFC 8628 §5.1: user codes have ~34.6 bits of entropy, so wrong guesses must be rate-limited.
 * Counts misses per client address in fixed windows; once a client is over the limit every lookup
 * it makes is refused until the window ends (a hit must not stay available to a guesser). The map is
 * bounded: when full, the oldest client is forgotten, so a flood of addresses costs memory only up
 * to the cap. A client is its source (an IPv4 address or an IPv6 /64, core/http/address.ts) as
 * the web port's client-address source sees it (./client-address.ts).
 */
import { sourceKey } from "../../core/http/address.ts";

export interface GuessLimits {
  maxMisses: number;
  windowMs: number;
  maxClients: number;
}

export const DEFAULT_GUESS_LIMITS: GuessLimits = { maxMisses: 10, windowMs: 60_000, maxClients: 10_000 };

export interface GuessLimiter {
  blocked(client: string, now: number): boolean;
  miss(client: string, now: number): void;
}

interface Window {
  start: number;
  misses: number;
}

export function createGuessLimiter(limits: GuessLimits = DEFAULT_GUESS_LIMITS): GuessLimiter {
  const windows = new Map<string, Window>();
  const current = (address: string, now: number): Window | undefined => {
    const client = sourceKey(address);
    const window = windows.get(client);
    if (window !== undefined && now - window.start >= limits.windowMs) {
      windows.delete(client);
      return undefined;
    }
    return window;
  };
  return {
    blocked: (client, now) => (current(client, now)?.misses ?? 0) >= limits.maxMisses,
    miss(address, now) {
      const window = current(address, now);
      if (window !== undefined) {
        window.misses += 1;
        return;
      }
      if (windows.size >= limits.maxClients) {
        const oldest = windows.keys().next();
        if (!oldest.done) windows.delete(oldest.value);
      }
      windows.set(sourceKey(address), { start: now, misses: 1 });
    },
  };
}

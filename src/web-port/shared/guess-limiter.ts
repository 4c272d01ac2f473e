/**
 * RFC 8628 §5.1: user codes have ~34.6 bits of entropy, so wrong guesses must be rate-limited.
 * Counts misses per client address in fixed windows; once a client is over the limit every lookup
 * it makes is refused until the window ends (a hit must not stay available to a guesser). The map is
 * bounded: when full, the oldest client is forgotten, so a flood of addresses costs memory only up
 * to the cap.
 */

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

/**
 * Whom misses are counted against. One IPv6 subscriber usually holds a whole /64 (RFC 6177), so
 * counting single IPv6 addresses would give a guesser 2^64 fresh budgets: IPv6 counts per /64.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`, how dual-stack sockets report IPv4 peers) counts as the IPv4.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.toLowerCase().split("%")[0]!.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

export function createGuessLimiter(limits: GuessLimits = DEFAULT_GUESS_LIMITS): GuessLimiter {
  const windows = new Map<string, Window>();
  const current = (address: string, now: number): Window | undefined => {
    const client = clientKey(address);
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
      windows.set(clientKey(address), { start: now, misses: 1 });
    },
  };
}

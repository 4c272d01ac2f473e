/** Chooses the rendezvous backend from `rendezvous.url` (DESIGN §10). */
import { ConfigError } from "../../core/errors.ts";
import { createMemoryAccessStore } from "./access-memory.ts";
import { createRedisAccessStore } from "./access-redis.ts";
import type { AccessStore } from "./access-store.ts";
import type { RedisStoreOptions } from "./redis.ts";
import type { RendezvousStore, StoreLimits } from "./store.ts";

const KEY = "rendezvous.url";

/**
 * `sealing` is for stores outside the process: a memory store's records never leave it.
 * Does not wait for Redis: an instance may start before its Redis does, and the store recovers by
 * itself; readiness (`ping`) reports the gap instead. The URL is never echoed in errors because a
 * Redis URL may carry a password.
 */
export async function openStore(
  url: string,
  limits: StoreLimits,
  sealing: Pick<RedisStoreOptions, "keys" | "logger">,
): Promise<RendezvousStore> {
  const scheme = schemeOf(url);
  if (scheme === "memory:") return (await import("./memory.ts")).createMemoryStore(limits);
  if (scheme === "redis:" || scheme === "rediss:")
    return (await import("./redis.ts")).createRedisStore(url, limits, sealing);
  throw new ConfigError(KEY, 'must be "memory:", "redis://host:port" or "rediss://host:port"');
}

/** The revocations and recent logins, on the same backend as the grants (every role opens it). */
export function openAccessStore(
  url: string,
  sealing: Pick<RedisStoreOptions, "keys" | "logger">,
): AccessStore {
  const scheme = schemeOf(url);
  if (scheme === "memory:") return createMemoryAccessStore();
  if (scheme === "redis:" || scheme === "rediss:") return createRedisAccessStore(url, sealing);
  throw new ConfigError(KEY, 'must be "memory:", "redis://host:port" or "rediss://host:port"');
}

function schemeOf(url: string): string | undefined {
  if (url === "memory:") return "memory:";
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  const isNetwork = parsed.protocol === "redis:" || parsed.protocol === "rediss:";
  return isNetwork && parsed.hostname !== "" ? parsed.protocol : undefined;
}

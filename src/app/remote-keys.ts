/**
 * The key sets a running instance uses, behind one provider so that SIGHUP (reload) and, for a
 * `jwks:` signing source, background refreshes swap them without rebuilding anything.
 *
 * Unknown kid: verifyWrapper stays synchronous in its key lookup (a kid either is in
 * `keys.verifiers` or the wrapper is `invalid_token`), so a wrapper signed by a key the broker
 * introduced after our last fetch must not make verification wait on the network from inside.
 * Instead the proxy's entrance (./kid-refresh.ts) reads the kid first and, when it is unknown,
 * awaits `refreshForKid` before handing the request on. Refetches caused that way happen at most
 * once per `minRefreshGapMs` and are shared by concurrent callers, so wrappers with made-up kids
 * cannot turn the proxy into a request amplifier against the broker. A periodic refresh also
 * retires keys the broker has dropped.
 *
 * Not jose's createRemoteJWKSet (which src/broker/providers/oidc.ts uses for IdPs): its cooldown
 * counts from the last *successful* fetch, so while the broker is unreachable every wrapper with an
 * unknown kid would start another fetch; the gap here counts from the last attempt. The import
 * checks of loadKeySets (size and key-count caps, duplicate kids, public keys only) apply as well.
 */
import type { Env } from "../core/config/types.ts";
import { loadKeySets } from "../core/keys/load.ts";
import { isJwksSource } from "../core/keys/remote-jwks.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { Logger } from "../ops/log/logger.ts";

export interface KeySetsProvider {
  current(): KeySets;
  /** Whether verification keys come from a broker's JWKS (and can change without a reload). */
  readonly remote: boolean;
  /** Refetches a remote set if `kid` is still unknown and the rate limit allows; never throws. */
  refreshForKid(kid: string): Promise<void>;
  /** Re-reads every source now; throws (keeping the current sets) when a source is unusable. */
  reload(): Promise<KeySets>;
  close(): void;
}

export interface KeySetsProviderOptions {
  env: Env;
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
  /** Minimum time between refetches triggered by unknown kids (default 30 s). */
  minRefreshGapMs?: number;
  /** Periodic refetch of a remote set (default 5 min); 0 disables it. */
  refreshEveryMs?: number;
}

export async function createKeySetsProvider(
  sources: { signing: string; encryption: string },
  options: KeySetsProviderOptions,
): Promise<KeySetsProvider> {
  // Stamped when loaded, so the admin overview counts a key's time in use from here, not from a view.
  const load = async (): Promise<KeySets> => ({
    ...(await loadKeySets(sources, options.env, { fetch: options.fetch })),
    loadedAt: options.now(),
  });
  let keys = await load();
  let lastFetch = options.now();
  let inFlight: Promise<void> | undefined;
  const remote = isJwksSource(sources.signing);
  const gap = options.minRefreshGapMs ?? 30_000;

  const refetch = (reason: string): Promise<void> => {
    lastFetch = options.now();
    inFlight ??= load()
      .then((fresh) => {
        // An unchanged set keeps the current object: the proxy empties its wrapper cache on a new one.
        if (sameKeys(keys, fresh)) return;
        keys = fresh;
        options.logger.info("keys.refreshed", { reason, kids: [...fresh.verifiers.keys()].join(",") });
      })
      // The last good set stays in use: a broker restart must not make proxies forget every key.
      .catch((error: unknown) => {
        options.logger.error("keys.refresh_failed", { reason: error instanceof Error ? error.message : "" });
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const every = options.refreshEveryMs ?? 300_000;
  const timer = remote && every > 0 ? setInterval(() => void refetch("periodic"), every) : undefined;
  timer?.unref();

  return {
    current: () => keys,
    remote,
    async refreshForKid(kid) {
      if (!remote || keys.verifiers.has(kid)) return;
      if (inFlight !== undefined) return inFlight;
      if (options.now() - lastFetch < gap) return;
      return refetch("unknown_kid");
    },
    async reload() {
      keys = await load();
      lastFetch = options.now();
      return keys;
    },
    close: () => clearInterval(timer),
  };
}

/** Same published signing keys and same encryption kids (SIGHUP, not a refetch, swaps key material under a kid). */
function sameKeys(current: KeySets, fresh: KeySets): boolean {
  const kids = (set: KeySets) => [...set.decrypters.keys()].join(",");
  return (
    JSON.stringify(current.publicJwks) === JSON.stringify(fresh.publicJwks) && kids(current) === kids(fresh)
  );
}

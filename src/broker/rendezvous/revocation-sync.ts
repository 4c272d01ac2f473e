/**
 * Keeps an instance's RevocationList equal to the store's rules: loaded at start, then reloaded
 * whenever the store's version counter moves, polled every POLL_MS. A rule added on any instance is
 * thereby enforced by every instance within POLL_MS plus one read (issue #15: within 2 s); the
 * instance that adds a rule applies it at once. A poll that fails (Redis down) keeps the rules
 * already known, logs once, and retries on the next tick: a known revocation never lapses.
 */
import type { RevocationRule } from "../../core/access/revocation.ts";
import { RevocationList } from "../../core/access/revocation-list.ts";
import type { Logger } from "../../ops/log/logger.ts";
import type { AccessStore } from "./access-store.ts";

export const POLL_MS = 1_000;

export interface RevocationSync {
  readonly list: RevocationList;
  /** Stores the rule and applies it here at once. */
  add(rule: RevocationRule): Promise<void>;
  /** The live rules as the store has them now (for the list an operator reads). */
  rulesFromStore(): Promise<RevocationRule[]>;
  close(): void;
}

export async function startRevocationSync(
  store: AccessStore,
  deps: { now: () => number; logger: Logger; pollMs?: number },
): Promise<RevocationSync> {
  const list = new RevocationList();
  // Unknown until the first successful read; a store down at start-up is retried every tick
  // (the instance starts, as it does without Redis for grants, and logs the gap).
  let version: string | undefined;
  let failing = false;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const current = await store.revocationVersion();
      if (current !== version || version === undefined) {
        list.replace(await store.revocations(deps.now()), deps.now());
        version = current;
      }
      if (failing) deps.logger.info("revocations.sync_restored", { rules: list.rules.length });
      failing = false;
    } catch {
      if (!failing) deps.logger.error("revocations.sync_failed", { rules_kept: list.rules.length });
      failing = true;
    } finally {
      busy = false;
    }
  };
  await tick();
  // Never what keeps a process alive: stop() closes it, and a test that forgets must still exit.
  const timer = setInterval(tick, deps.pollMs ?? POLL_MS);
  timer.unref();
  return {
    list,
    async add(rule) {
      await store.addRevocation(rule, deps.now());
      list.add(rule, deps.now());
    },
    rulesFromStore: () => store.revocations(deps.now()),
    close: () => clearInterval(timer),
  };
}

/**
 * The grants page lists the rendezvous store's live grants; the store forgets a grant when it
 * expires. To show "expired" for a short while (and not have rows silently vanish), this remembers
 * grants seen in earlier listings, bounded in count and time.
 */
import type { GrantView } from "../../../ui/admin/grants.tsx";
import { formatUserCode } from "../../broker/codes.ts";
import type { GrantRecord } from "../../broker/rendezvous/store.ts";

const MAX_REMEMBERED = 500;
/** How long an expired grant stays on the page. */
const KEEP_EXPIRED_MS = 10 * 60 * 1000;

export class GrantHistory {
  readonly #seen = new Map<string, GrantView>();

  /** Live grants merged with recently expired ones, newest first. */
  merge(live: readonly GrantRecord[], now: number): GrantView[] {
    const liveIds = new Set<string>();
    for (const grant of live) {
      liveIds.add(grant.id);
      this.#seen.delete(grant.id);
      this.#seen.set(grant.id, viewOf(grant));
    }
    for (const [id, view] of this.#seen) {
      if (liveIds.has(id)) continue;
      // Gone before its expiry: collected (or cancelled) — nothing more to show.
      if (view.expiresAt > now || now - view.expiresAt > KEEP_EXPIRED_MS) this.#seen.delete(id);
      else view.status = "expired";
    }
    while (this.#seen.size > MAX_REMEMBERED) {
      const oldest = this.#seen.keys().next();
      if (oldest.done) break;
      this.#seen.delete(oldest.value);
    }
    return [...this.#seen.values()].sort((a, b) => b.createdAt - a.createdAt);
  }
}

function viewOf(grant: GrantRecord): GrantView {
  const { id, workload, provider, scope, userCode, createdAt, expiresAt } = grant;
  const issued = grant.status === "complete";
  const status = issued ? "approved" : (grant.status as Exclude<GrantRecord["status"], "complete">);
  const shown = formatUserCode(userCode);
  return { id, workload, provider, scope: [...scope], userCode: shown, createdAt, expiresAt, status, issued };
}

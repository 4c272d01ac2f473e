/**
 * Rules both rendezvous backends share, so memory and Redis cannot drift apart: what counts as
 * live, what counts against the caps, and when a poll is too fast.
 */
import { RendezvousError } from "../../core/errors.ts";
import type { GrantRecord, GrantStatus, PollOutcome } from "./store.ts";

/** A record whose `expiresAt` has been reached is gone, whatever the backend still holds. */
export function isLive(grant: Pick<GrantRecord, "expiresAt">, now: number): boolean {
  return grant.expiresAt > now;
}

/**
 * Only grants still waiting on the person or the IdP hold capacity: denied and complete grants are
 * finished, so they must not lock a workload out until they expire.
 */
export function holdsCapacity(status: GrantStatus): boolean {
  return status === "pending" || status === "approved";
}

/**
 * RFC 8628 §3.5: `slow_down` when the client polls faster than `interval`. A poll exactly `interval`
 * seconds after the previous one is on time.
 */
export function pollOutcome(
  previousPoll: number | undefined,
  now: number,
  intervalSeconds: number,
): PollOutcome {
  if (previousPoll === undefined) return "ok";
  return now - previousPoll < intervalSeconds * 1000 ? "slow_down" : "ok";
}

export type CapExceeded = "workload" | "total";

export function rateLimited(cap: CapExceeded): RendezvousError {
  const where = cap === "workload" ? "pending grants for this workload" : "pending grants in total";
  return new RendezvousError("rate_limited", `rendezvous: too many ${where}`);
}

/** A create that would shadow a live grant (random-code collision): the caller retries with new codes. */
export function duplicateGrant(): RendezvousError {
  return new RendezvousError("server_error", "rendezvous: grant id, user code or device key already in use");
}

/** Creating an already-expired grant is a caller bug; Redis could not even store it (PX must be > 0). */
export function expiredOnCreate(): RendezvousError {
  return new RendezvousError("server_error", "rendezvous: grant expires before it is created");
}

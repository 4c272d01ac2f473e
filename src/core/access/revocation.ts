/**
 * Revocations (issue #15): "not before" rules. A wrapper that matches a rule and was minted no later
 * than the rule's `notBefore` second is refused; wrappers minted afterwards (a new login) are not.
 * One rule names exactly one of: a login (`sid`), a workload glob (as in `[[policy]]`), a person
 * (`sub` at a provider), or a provider.
 */
import { MAX_LIFETIME } from "../token/claims.ts";
import type { VerifiedWrapper } from "../token/types.ts";

export type RevocationTarget =
  | { login: string }
  | { workload: string }
  | { sub: string; provider: string }
  | { provider: string };

export interface RevocationRule {
  /** Random, for listing and audit. */
  id: string;
  target: RevocationTarget;
  /** Epoch seconds: wrappers with `iat` ≤ this are refused (one minted in the same second too). */
  notBefore: number;
  /** Epoch milliseconds. */
  createdAt: number;
  /**
   * Epoch milliseconds after which no wrapper the rule can match is still valid: every wrapper lives
   * at most MAX_LIFETIME after its `iat` (a `surrogate seal` wrapper may live that long), so the rule
   * is forgotten only once that has passed for the last wrapper minted before it.
   */
  expiresAt: number;
  /** Who created it (an admin's name, `api`), for the audit trail and the list. */
  by: string;
}

/** What a presented wrapper is checked against: its own claims plus the workload presenting it. */
export interface WrapperFacts {
  sid: string;
  /** Epoch seconds. */
  iat: number;
  provider: string;
  sub?: string;
  /** The presenting workload; the binding check already tied it to the wrapper. */
  workload: string;
}

/** Longest accepted texts: a SPIFFE ID is at most 2048 bytes (SPIFFE ID §2.3). */
export const MAX_TARGET_LENGTH = 2048;

export function newRule(target: RevocationTarget, by: string, now: number): RevocationRule {
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
  const notBefore = Math.floor(now / 1000);
  // The 60 s margin covers wrappers minted by a host whose clock is ahead (claims.ts CLOCK_TOLERANCE).
  const expiresAt = (notBefore + MAX_LIFETIME + 60) * 1000;
  return { id, target, notBefore, createdAt: now, expiresAt, by };
}

/** The scope a target names, for audit lines and the admin list. */
export function scopeOf(target: RevocationTarget): "login" | "workload" | "sub" | "provider" {
  if ("login" in target) return "login";
  if ("workload" in target) return "workload";
  return "sub" in target ? "sub" : "provider";
}

/** A wrapper's facts as presented by `workload` (after the binding check tied the two together). */
export function factsOf(wrapper: VerifiedWrapper, workload: string): WrapperFacts {
  const sub = wrapper.claims.sub;
  const { sid, iat, provider } = wrapper;
  return { sid, iat, provider, workload, ...(typeof sub === "string" ? { sub } : {}) };
}

/**
 * Where the agent (creating and polling a grant) and the person's browser (consent, callback) meet.
 * Short-lived: every record expires at `expiresAt`. Implementations: memory (one process) and Redis
 * (several instances). Values cross the interface as copies, never shared references, so the memory
 * store behaves like the Redis one.
 */

import type { WrapperBindings } from "../../core/access/binding.ts";

export type GrantStatus = "pending" | "approved" | "denied" | "complete";

export interface GrantRecord {
  /** Random id (≥ 128 bits), used by the web flow; never shown to the agent. */
  id: string;
  /** base64url(SHA-256(device_code)): the device code itself is never stored. */
  deviceKey: string;
  /** 8 characters from BCDFGHJKLMNPQRSTVWXZ, without the dash. */
  userCode: string;
  provider: string;
  scope: string[];
  workload: string;
  /** `x5t#S256` of the certificate that created the grant: only it may collect the result. */
  thumbprint: string;
  /** Hex SHA-256 for the consent page. */
  fingerprint: string;
  /** What the wrappers minted for this grant bind (decided at creation, from the client and policy). */
  bindings: WrapperBindings;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
  /** Minimum seconds between polls (RFC 8628 §3.2 `interval`). */
  interval: number;
  status: GrantStatus;
}

export interface StoreLimits {
  maxPendingPerWorkload: number;
  maxPendingTotal: number;
}

export type PollOutcome = "ok" | "slow_down";

export interface RendezvousStore {
  readonly backend: "memory" | "redis";
  /** Throws RendezvousError `rate_limited` when a cap would be exceeded; `temporarily_unavailable` when the backend is down. */
  create(grant: GrantRecord, now: number): Promise<void>;
  getById(id: string, now: number): Promise<GrantRecord | undefined>;
  getByUserCode(userCode: string, now: number): Promise<GrantRecord | undefined>;
  getByDeviceKey(deviceKey: string, now: number): Promise<GrantRecord | undefined>;
  /** Compare-and-set on status; false when the grant is gone or not in `from`. */
  transition(id: string, from: GrantStatus, to: GrantStatus, now: number): Promise<boolean>;
  /** Stores the serialized token response for the agent and moves the grant to `complete`. False if not `approved`. */
  deliver(id: string, result: string, now: number): Promise<boolean>;
  /** Atomically returns and deletes a delivered result: at most one caller ever gets it. */
  take(deviceKey: string, now: number): Promise<string | undefined>;
  /** Records a poll; `slow_down` when the previous poll of this grant was less than `interval` seconds ago. */
  poll(deviceKey: string, now: number): Promise<PollOutcome>;
  /** Live grants for the admin view, newest first, at most `limit`. */
  list(limit: number, now: number): Promise<GrantRecord[]>;
  size(now: number): Promise<number>;
  /** True when the backend answers (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

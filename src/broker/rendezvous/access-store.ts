/**
 * Where every instance finds the revocation rules and the recent logins (issue #15). Memory (one
 * process) or Redis (shared by every instance, proxy-only ones included). No token is ever stored
 * in the clear: the only secret kept is a login's upstream refresh token sealed under the broker's
 * encryption key (the wrapper's own `tok` format, DESIGN §5), so that revoking the login can revoke
 * it at the IdP as well; it is never listed.
 */
import type { RevocationRule } from "../../core/access/revocation.ts";

/** A login as the admin's Access page lists it: who, what, when; never a token. */
export interface LoginRecord {
  sid: string;
  workload: string;
  /** Hex SHA-256 of the certificate the login's wrappers were bound to. */
  fingerprint: string;
  provider: string;
  /** The person at the provider, when the IdP said (OIDC `sub`). */
  sub?: string;
  scope: string;
  /** Epoch milliseconds: the login (auth_time) and the last moment one of its wrappers can live. */
  issuedAt: number;
  expiresAt: number;
}

/** Caps: the rules are read by every instance, and the list of logins is a view, not an archive. */
export const MAX_RULES = 10_000;
export const MAX_LOGINS = 10_000;

export interface AccessStore {
  readonly backend: "memory" | "redis";
  /** Throws RendezvousError `rate_limited` past MAX_RULES live rules, `temporarily_unavailable` when down. */
  addRevocation(rule: RevocationRule, now: number): Promise<void>;
  /** Live rules, oldest first. */
  revocations(now: number): Promise<RevocationRule[]>;
  /** Changes whenever a rule is added: instances poll it and reload the rules when it moves. */
  revocationVersion(): Promise<string>;
  /** Records a login; `sealedRefresh` is the sealed upstream refresh token, when there is one. */
  recordLogin(login: LoginRecord, sealedRefresh: string | undefined, now: number): Promise<void>;
  /** A rotated upstream refresh token replaces the sealed one of a login still on record. */
  updateLoginSecret(sid: string, sealedRefresh: string, now: number): Promise<void>;
  getLogin(sid: string, now: number): Promise<LoginRecord | undefined>;
  loginSecret(sid: string, now: number): Promise<string | undefined>;
  /** Live logins, newest first, at most `limit`. */
  logins(limit: number, now: number): Promise<LoginRecord[]>;
  close(): Promise<void>;
}

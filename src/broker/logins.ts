/**
 * Recent logins for the admin's Access page, and what upstream revocation needs (issue #15): who
 * logged in, for what, until when, plus the upstream refresh token sealed under the broker's
 * encryption key. Best effort: the agent already holds its wrappers, so a store that cannot record
 * costs the operator a row on the page, not the agent its login; the failure is logged.
 */
import type { KeySets } from "../core/keys/types.ts";
import type { UpstreamTokens } from "../core/provider/types.ts";
import { sealSecret } from "../core/token/seal.ts";
import type { LoginFacts } from "../core/token/types.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { IssueOptions } from "./issue.ts";
import type { AccessStore } from "./rendezvous/access-store.ts";

export interface LoginDeps {
  logins?: AccessStore;
  keys: () => KeySets;
  now: () => number;
  logger: Logger;
  /** The lifetimes (`token_ttl`, `refresh_ttl`) that bound how long a login's wrappers live. */
  issue: Pick<IssueOptions, "tokenTtl" | "refreshTtl">;
}

export interface NewLogin {
  login: LoginFacts;
  workload: string;
  fingerprint: string;
  provider: string;
  sub?: string;
  scope: string;
}

/** Kept for as long as any wrapper of the login can live: the refresh bound, or one access wrapper. */
function lastWrapperEnd(deps: LoginDeps, login: LoginFacts, refreshable: boolean): number {
  const { tokenTtl, refreshTtl } = deps.issue;
  const seconds = refreshable ? Math.max(refreshTtl ?? tokenTtl, tokenTtl) : tokenTtl;
  // A refresh just before the bound mints an access wrapper that lives token_ttl beyond it.
  const extra = refreshable ? tokenTtl : 0;
  return (login.authTime + seconds + extra) * 1000;
}

export async function recordLogin(deps: LoginDeps, entry: NewLogin, tokens: UpstreamTokens): Promise<void> {
  if (deps.logins === undefined) return;
  const refresh = tokens.refreshToken;
  try {
    const sealed =
      refresh === undefined ? undefined : await sealSecret({ token: refresh, type: "refresh" }, deps.keys());
    const { login, ...rest } = entry;
    const record = {
      ...rest,
      sid: login.sid,
      issuedAt: login.authTime * 1000,
      expiresAt: lastWrapperEnd(deps, login, refresh !== undefined),
    };
    await deps.logins.recordLogin(record, sealed, deps.now());
  } catch (error) {
    deps.logger.error("login.record_failed", { provider: entry.provider, reason: reasonOf(error) });
  }
}

/** A rotated upstream refresh token replaces the sealed one, so revoking the login revokes the live one. */
export async function recordRotation(deps: LoginDeps, sid: string, tokens: UpstreamTokens): Promise<void> {
  const refresh = tokens.refreshToken;
  if (deps.logins === undefined || refresh === undefined) return;
  try {
    const sealed = await sealSecret({ token: refresh, type: "refresh" }, deps.keys());
    await deps.logins.updateLoginSecret(sid, sealed, deps.now());
  } catch (error) {
    deps.logger.error("login.record_failed", { reason: reasonOf(error) });
  }
}

/** Error names only: a message was not written to be secret-free. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}

/**
 * Revoking (issue #15): store the rule where every instance reads it, apply it here at once, audit
 * it, and for a login also revoke its upstream refresh token at the IdP. The local rule stands
 * whatever the IdP answers: upstream revocation is best effort and only audited.
 */
import { newRule, type RevocationRule, type RevocationTarget, scopeOf } from "../core/access/revocation.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider, RevocationOutcome } from "../core/provider/types.ts";
import { openSealed } from "../core/token/open.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { AccessStore } from "./rendezvous/access-store.ts";
import type { RevocationSync } from "./rendezvous/revocation-sync.ts";

export interface RevokeDeps {
  revocations: RevocationSync;
  logins: AccessStore;
  providers: ReadonlyMap<string, ResolvedProvider>;
  keys: () => KeySets;
  now: () => number;
  logger: Logger;
}

export type UpstreamOutcome = RevocationOutcome | { outcome: "skipped"; reason: string };

export interface Revoked {
  rule: RevocationRule;
  /** For a login only: what the IdP did with its refresh token. */
  upstream?: UpstreamOutcome;
}

/** Throws RendezvousError (`rate_limited` at the cap, `temporarily_unavailable`): nothing was revoked. */
export async function revoke(deps: RevokeDeps, target: RevocationTarget, by: string): Promise<Revoked> {
  const rule = newRule(target, by, deps.now());
  await deps.revocations.add(rule);
  deps.logger.audit("revocation.created", { by, rule: rule.id, scope: scopeOf(target), ...target });
  if (!("login" in target)) return { rule };
  return { rule, upstream: await revokeUpstream(deps, target.login) };
}

async function revokeUpstream(deps: RevokeDeps, sid: string): Promise<UpstreamOutcome> {
  const outcome = await attempt(deps, sid);
  const detail = "reason" in outcome ? { reason: outcome.reason } : {};
  const code = "code" in outcome ? { code: outcome.code } : {};
  deps.logger.audit("upstream.revoked", { login: sid, outcome: outcome.outcome, ...code, ...detail });
  return outcome;
}

async function attempt(deps: RevokeDeps, sid: string): Promise<UpstreamOutcome> {
  try {
    const login = await deps.logins.getLogin(sid, deps.now());
    if (login === undefined)
      return { outcome: "skipped", reason: "login not on record (expired, or from another deployment)" };
    const oauth = deps.providers.get(login.provider)?.oauth;
    if (oauth === undefined)
      return { outcome: "skipped", reason: `provider ${login.provider} is not an OAuth provider here` };
    const sealed = await deps.logins.loginSecret(sid, deps.now());
    if (sealed === undefined) return { outcome: "skipped", reason: "the login has no refresh token" };
    const secret = await openSealed(sealed, "refresh", deps.keys());
    return await oauth.revokeToken(secret.token, "refresh_token");
  } catch (error) {
    // Names only: a message was not written to be secret-free.
    return {
      outcome: "skipped",
      reason: `could not be attempted (${error instanceof Error ? error.name : "unknown"})`,
    };
  }
}

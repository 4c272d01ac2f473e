/**
 * What a refresh must still satisfy besides a valid, bound refresh wrapper (issue #15): the login
 * it descends from is younger than `refresh_ttl`, no revocation matches it, and the current
 * `[[policy]]` still lets the presenting workload use the wrapper's provider.
 */
import { factsOf } from "../core/access/revocation.ts";
import { OAuthError } from "../core/errors.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import type { VerifiedWrapper } from "../core/token/types.ts";
import type { RefreshContext } from "./context.ts";

/**
 * The bound counts from the person's login (`auth_time`), not from the last refresh: otherwise every
 * refresh would extend access by another `refresh_ttl`, for ever, without the person. Checked here
 * too, not only through `exp`, so a refresh wrapper minted with a later `exp` (another
 * implementation, an older surrogate) cannot outlive the bound either.
 */
export function admitRefresh(
  deps: Pick<RefreshContext, "policy" | "revocations" | "now" | "issue">,
  client: ClientIdentity,
  wrapper: VerifiedWrapper,
): void {
  const { refreshTtl, tokenTtl } = deps.issue;
  if (deps.now() / 1000 >= wrapper.authTime + (refreshTtl ?? tokenTtl)) {
    throw new OAuthError("invalid_grant", "refresh_token: the login is older than refresh_ttl; log in again");
  }
  if (deps.revocations.revoking(factsOf(wrapper, client.workload)) !== undefined) {
    throw new OAuthError("invalid_grant", "refresh_token: revoked; log in again");
  }
  // A rule removed after the login must stop the workload, not only its next login (issue #15).
  if (!deps.policy.allows(client.workload, wrapper.provider)) {
    throw new OAuthError("access_denied", "policy: this workload may no longer use this provider");
  }
}

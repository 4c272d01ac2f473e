/**
 * What a refresh must still satisfy besides a valid, bound refresh wrapper (issue #15): the login
 * it descends from is younger than `refresh_ttl`.
 */
import { OAuthError } from "../core/errors.ts";
import type { VerifiedWrapper } from "../core/token/types.ts";
import type { AgentApiDeps } from "./agent-api.ts";

/**
 * The bound counts from the person's login (`auth_time`), not from the last refresh: otherwise every
 * refresh would extend access by another `refresh_ttl`, for ever, without the person. Checked here
 * too, not only through `exp`, so a refresh wrapper minted with a later `exp` (another
 * implementation, an older surrogate) cannot outlive the bound either.
 */
export function admitRefresh(deps: AgentApiDeps, wrapper: VerifiedWrapper): void {
  const { refreshTtl, tokenTtl } = deps.config;
  if (deps.now() / 1000 >= wrapper.authTime + (refreshTtl ?? tokenTtl)) {
    throw new OAuthError("invalid_grant", "refresh_token: the login is older than refresh_ttl; log in again");
  }
}

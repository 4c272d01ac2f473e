/**
 * A provider as the registry resolves it, for tests that build the proxy by hand: the upstreams
 * given as config entries, the token injected as a Bearer Authorization header, no scopes.
 */
import { parseUpstream } from "../../src/core/provider/allowlist.ts";
import { parseInjection } from "../../src/core/provider/inject.ts";
import type { ResolvedProvider } from "../../src/core/provider/types.ts";

export function bearerProvider(
  name: string,
  upstreams: readonly string[],
  overrides: Partial<ResolvedProvider> = {},
): ResolvedProvider {
  return {
    name,
    kind: "oidc",
    upstreams: upstreams.map((entry) => parseUpstream(entry, `providers.${name}.upstreams`)),
    inject: parseInjection("Authorization: Bearer {token}", `providers.${name}.inject`),
    scopes: [],
    jwtAccessTokens: false,
    oidc: true,
    ...overrides,
  };
}

/** `GET /v1/providers`: which providers this workload may use, and where their tokens may go. */
import type { ClientIdentity } from "../core/identity/types.ts";
import { formatUpstream } from "../core/provider/upstream-text.ts";
import type { ProvidersListContext } from "./context.ts";
import { jsonResponse } from "./oauth-response.ts";

export interface ProviderListing {
  name: string;
  kind: string;
  /** Each in the `upstreams` grammar: the agent-side companion matches hosts with them. */
  upstreams: string[];
}

/**
 * Only what `[[policy]]` grants this client: a workload learns nothing about providers it may not
 * use. Upstream patterns are not secret (they are what the proxy enforces), and knowing them lets
 * the companion refuse a host with a clear answer before any wrapper leaves it.
 */
export function handleProviders(deps: ProvidersListContext, client: ClientIdentity) {
  const providers: ProviderListing[] = [];
  for (const provider of deps.providers.values()) {
    if (!deps.policy.allows(client.workload, provider.name)) continue;
    providers.push({
      name: provider.name,
      kind: provider.kind,
      upstreams: provider.upstreams.map(formatUpstream),
    });
  }
  return jsonResponse({ providers });
}

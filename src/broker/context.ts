import type { BrokerPolicy } from "../core/access/policy-gate.ts";
import type { RevocationView } from "../core/access/revocation-list.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { IssueOptions } from "./issue.ts";
import type { AccessStore } from "./rendezvous/access-store.ts";
import type { RendezvousStore } from "./rendezvous/store.ts";

/**
 * What the agent API's parts use, built once by createAgentApi from its dependencies: the settings
 * are copied out of the configuration, so no handler reaches into the whole of it. Each part takes
 * only its slice (the types below), so what a handler can touch is written in its signature.
 */
export interface BrokerContext {
  /** The current `[[policy]]` (replaced on SIGHUP). */
  policy: BrokerPolicy;
  /** The revocation rules every instance shares (issue #15). */
  revocations: RevocationView;
  /** Where logins are recorded (admin Access page, upstream revocation); absent, they are not. */
  logins?: AccessStore;
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  /** Called per request, so reloaded or rotated keys take effect without a restart. */
  keys: () => KeySets;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
  /** Issuer and lifetimes for minting (`issuer`, `token_ttl`, `refresh_ttl`). */
  issue: Omit<IssueOptions, "now">;
  /** `[rendezvous]`: how long a grant lives and how often an agent may poll, seconds. */
  rendezvous: { grantTtl: number; interval: number };
}

/** POST /v1/grants. */
export type GrantContext = Pick<
  BrokerContext,
  "policy" | "providers" | "store" | "now" | "logger" | "issue" | "rendezvous"
>;
/** POST /v1/token, device_code grant. */
export type DeviceTokenContext = Pick<BrokerContext, "store" | "now" | "logger">;
/** POST /v1/token, refresh_token grant. */
export type RefreshContext = Pick<
  BrokerContext,
  "policy" | "revocations" | "logins" | "providers" | "keys" | "now" | "logger" | "issue"
>;
/** GET /v1/providers. */
export type ProvidersListContext = Pick<BrokerContext, "policy" | "providers">;

import type { RendezvousStore } from "../../broker/rendezvous/store.ts";
import type { RevokeDeps } from "../../broker/revoke.ts";
import type { AdminConfig } from "../../core/config/types.ts";
import type { KeySets } from "../../core/keys/types.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import type { Secret } from "../../core/secret.ts";
import type { Logger } from "../../ops/log/logger.ts";
import type { Observer } from "../../ops/metrics/observer.ts";
import type { ClientAddress } from "../shared/client-address.ts";
import type { GuessLimiter } from "../shared/guess-limiter.ts";
import type { RandomBytes } from "../shared/random.ts";
import type { GrantHistory } from "./grant-history.ts";
import type { IdpProbe } from "./idp-status.ts";
import type { KeyAges } from "./key-ages.ts";

/** What `/readyz` and `/metrics` use; they answer whether or not the admin view is configured. */
export interface HealthContext {
  store: RendezvousStore;
  keys: () => KeySets;
  /** Epoch ms. */
  now: () => number;
  /** The observed logger (src/ops/metrics/observer.ts). */
  logger: Logger;
  observer: Observer;
  /** Epoch ms the process started. */
  startedAt: number;
  /** Readiness of the agent port; absent means "not started by this process" (tests). */
  agentListening?: () => boolean;
  /** `[metrics] bearer`: when set, /metrics wants it. */
  metricsBearer?: Secret;
}

/** What the admin pages and sign-in use, defaults filled in. */
export interface AdminContext extends HealthContext {
  /** `[admin]`; when absent every /admin path is 404 (the group's guard, app.ts). */
  admin: AdminConfig | undefined;
  /** Shown on the overview and in audit lines. */
  instance: string;
  /** The two listen addresses as shown on the overview. */
  listening: { web: string; agent: string };
  secure: boolean;
  randomBytes: RandomBytes;
  /** Wrong passwords, per client address. */
  limiter: GuessLimiter;
  clientAddress: ClientAddress;
  idp: IdpProbe;
  keyAges: KeyAges;
  history: GrantHistory;
  /** The admin provider's own OAuth client (redirect to /admin/callback), resolved on first use. */
  adminOAuth: () => Promise<ResolvedProvider>;
  /** Revocations and recent logins for the Access page; absent, the page lists nothing. */
  access?: RevokeDeps;
}

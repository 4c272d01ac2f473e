import type { RendezvousStore } from "../../broker/rendezvous/store.ts";
import type { AdminConfig, Config } from "../../core/config/types.ts";
import type { KeySets } from "../../core/keys/types.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import type { Logger } from "../../ops/log/logger.ts";
import type { Observer } from "../../ops/metrics/observer.ts";
import type { GuessLimiter } from "../shared/guess-limiter.ts";
import type { GrantHistory } from "./grant-history.ts";
import type { IdpProbe } from "./idp-status.ts";
import type { KeyAges } from "./key-ages.ts";

export interface AdminDeps {
  config: Config;
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  keys: () => KeySets;
  fetch: typeof fetch;
  /** Epoch ms. */
  now: () => number;
  /** The observed logger (see src/metrics/observer.ts). */
  logger: Logger;
  observer: Observer;
  /** Shown on the overview and in audit lines. */
  instance: string;
  /** Epoch ms the process started. */
  startedAt: number;
  /** Readiness of the agent port; absent means "not started by this process" (tests). */
  agentListening?: () => boolean;
  /** CSPRNG; injectable for tests. */
  randomBytes?: (size: number) => Uint8Array;
  /** As in WebDeps: the address wrong passwords are counted against. Default: the TCP peer. */
  clientAddress?: (request: Request) => string | undefined;
}

/** What the admin routes share, defaults filled in. */
export interface AdminContext {
  deps: AdminDeps;
  admin: AdminConfig | undefined;
  secure: boolean;
  randomBytes: (size: number) => Uint8Array;
  limiter: GuessLimiter;
  idp: IdpProbe;
  keyAges: KeyAges;
  history: GrantHistory;
  adminOAuth: () => Promise<ResolvedProvider>;
}

/** 32 CSPRNG bytes in base64url. */
export function randomToken(context: AdminContext): string {
  return Buffer.from(context.randomBytes(32)).toString("base64url");
}

import type { IssueOptions } from "../../broker/issue.ts";
import type { AccessStore } from "../../broker/rendezvous/access-store.ts";
import type { RendezvousStore } from "../../broker/rendezvous/store.ts";
import type { KeySets } from "../../core/keys/types.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import type { Logger } from "../../ops/log/logger.ts";
import type { ClientAddress } from "../shared/client-address.ts";
import type { GuessLimiter } from "../shared/guess-limiter.ts";
import type { RandomBytes } from "../shared/random.ts";

/** What the consent pages (device form, consent, Approve/Deny, callback) use, and nothing else. */
export interface ConsentContext {
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  keys: () => KeySets;
  /** Epoch ms. */
  now: () => number;
  logger: Logger;
  /** Where the callback records each login (admin Access page, upstream revocation); absent, it does not. */
  logins?: AccessStore;
  /** How the callback mints wrappers (issuer and lifetimes from the config). */
  issue: Omit<IssueOptions, "now">;
  /** Cookies get `Secure` and the `__Host-` prefix when the public URL is https. */
  secure: boolean;
  randomBytes: RandomBytes;
  /** Wrong user codes, per client address (RFC 8628 §5.1). */
  limiter: GuessLimiter;
  clientAddress: ClientAddress;
}

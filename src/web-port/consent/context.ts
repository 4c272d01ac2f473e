import type { BrokerContext } from "../../broker/context.ts";
import type { ClientAddress } from "../shared/client-address.ts";
import type { GuessLimiter } from "../shared/guess-limiter.ts";
import type { RandomBytes } from "../shared/random.ts";

/**
 * What the consent pages (device form, consent, Approve/Deny, callback) use, and nothing else: the
 * broker's providers, store, keys, clock, logger, login record and minting settings (the callback
 * mints and records the login), plus the page's own.
 */
export type ConsentContext = Pick<
  BrokerContext,
  "providers" | "store" | "keys" | "now" | "logger" | "logins" | "issue"
> & {
  /** Cookies get `Secure` and the `__Host-` prefix when the public URL is https. */
  secure: boolean;
  randomBytes: RandomBytes;
  /** Wrong user codes, per client address (RFC 8628 §5.1). */
  limiter: GuessLimiter;
  clientAddress: ClientAddress;
};

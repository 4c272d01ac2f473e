import type { AgentApiDeps } from "../../broker/agent-api.ts";
import type { GuessLimiter } from "../shared/guess-limiter.ts";

/**
 * The broker's dependencies (config, providers, store, keys, clock, logger), plus the page's own.
 * Not the policy: a person's consent is asked only for a grant the policy already allowed.
 */
export interface WebDeps extends Omit<AgentApiDeps, "policy" | "revocations"> {
  /** CSPRNG; injectable for tests. Default: crypto.getRandomValues. */
  randomBytes?: (size: number) => Uint8Array;
  /**
   * The client address wrong user-code guesses are counted against. Default: the TCP peer as Bun
   * sees it. Behind a load balancer every person shares its address, so a deployment there should
   * pass a function that reads its trusted forwarding header (never trust one by default: it is
   * client-controlled when no proxy strips it).
   */
  clientAddress?: (request: Request) => string | undefined;
}

/** What the route handlers share, defaults filled in. */
export interface WebContext {
  deps: WebDeps;
  /** Cookies get `Secure` and the `__Host-` prefix when the public URL is https. */
  secure: boolean;
  randomBytes: (size: number) => Uint8Array;
  limiter: GuessLimiter;
}

/** 32 CSPRNG bytes in base64url: 256 bits for state, PKCE verifier, nonce and cookies. */
export function randomToken(context: WebContext): string {
  return Buffer.from(context.randomBytes(32)).toString("base64url");
}

import type { AgentHandler, AgentRequest } from "../agent-port/http1/types.ts";
import type { KeySetsProvider } from "./remote-keys.ts";

/** A JWS header naming `alg`, `kid` and `typ` is well under 512 characters; longer is not a wrapper. */
const HEADER_PART = /^[ \t]*bearer +([A-Za-z0-9_-]{1,512})\./i;

/**
 * In front of the proxy on instances whose verification keys come from a broker's JWKS: when the
 * bearer token names a kid we do not hold, wait for one (rate-limited) refetch before the proxy
 * verifies it (see ./remote-keys.ts for why the lookup itself stays synchronous). The kid is only a
 * hint for *when* to refetch: nothing is trusted or decided from it here, verifyWrapper still
 * checks everything, and a token that cannot be read passes straight through to be refused there.
 */
export function withKidRefresh(handler: AgentHandler, keys: KeySetsProvider): AgentHandler {
  if (!keys.remote) return handler;
  const refreshing: AgentHandler = async (request: AgentRequest) => {
    const kid = kidHint(request.headers.get("authorization"));
    if (kid !== undefined && !keys.current().verifiers.has(kid)) await keys.refreshForKid(kid);
    return handler(request);
  };
  // The relay answers only wrappers found in the verification cache, whose kid is held already.
  if (handler.relay !== undefined) refreshing.relay = handler.relay;
  return refreshing;
}

export function kidHint(authorization: string | null): string | undefined {
  const part = authorization === null ? undefined : HEADER_PART.exec(authorization)?.[1];
  if (part === undefined) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    const kid = typeof header === "object" && header !== null ? (header as { kid?: unknown }).kid : undefined;
    return typeof kid === "string" && kid.length <= 128 ? kid : undefined;
  } catch {
    return undefined;
  }
}

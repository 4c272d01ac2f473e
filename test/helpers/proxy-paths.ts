/**
 * Which of the proxy's two paths served a request: the handler (AgentRequest → Response, fetch) or
 * the byte relay the handler offers (`AgentHandler.relay`, issue #16). Suites that run the same cases
 * on both paths count them here and assert the path, so a relay run cannot quietly fall back.
 */
import type { AgentHandler } from "../../src/agent-port/http1/types.ts";

/** Requests handed to the handler, offered to its relay, and taken by the relay. */
export interface PathCounts {
  handled: number;
  offered: number;
  took: number;
}

export type Path = "relay" | "declined" | "handler" | "none";

/** `inner`, counting into `counts` what its handler and its relay (when it offers one) were given. */
export function countPaths(inner: AgentHandler, counts: PathCounts): AgentHandler {
  const handler: AgentHandler = (request) => {
    counts.handled += 1;
    return inner(request);
  };
  const relay = inner.relay;
  if (relay !== undefined)
    handler.relay = (request, socket) => {
      counts.offered += 1;
      const call = relay(request, socket);
      if (call !== undefined) counts.took += 1;
      return call;
    };
  return handler;
}

/**
 * The path of the one request counted between `before` and `now`: `relay` (taken by the byte relay),
 * `declined` (offered to the relay, which left it to the handler: a refusal or an uncached wrapper),
 * `handler` (never offered: no relay), `none` (refused before the proxy, by TLS or the HTTP parser).
 */
export function pathBetween(before: PathCounts, now: PathCounts): Path {
  const handled = now.handled - before.handled;
  const offered = now.offered - before.offered;
  const took = now.took - before.took;
  if (took === 1 && offered === 1 && handled === 0) return "relay";
  if (offered === 1 && took === 0 && handled === 1) return "declined";
  if (offered === 0 && handled === 1) return "handler";
  if (offered === 0 && handled === 0) return "none";
  throw new Error(`pathBetween: ${JSON.stringify({ handled, offered, took })} is not one request`);
}

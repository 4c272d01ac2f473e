import type { AgentHandler, AgentRequest } from "./http1/types.ts";

/**
 * Splits the agent port between the broker API and the proxy on the raw request target. `/v1/` and
 * `/.well-known/` are the broker's namespaces (DESIGN §4.3), decided before any parsing, so no host
 * can be named "v1" and no proxy path can reach the broker. ".well-known" is no host name anyway
 * (a label cannot start with a dot), so the proxy loses nothing by it.
 */
export function routeAgentRequests(routes: { broker: AgentHandler; proxy: AgentHandler }): AgentHandler {
  const route: AgentHandler = (request: AgentRequest) =>
    (isBrokerTarget(request.target) ? routes.broker : routes.proxy)(request);
  const relay = routes.proxy.relay;
  // The same split for the proxy's byte relay: a broker path is never offered to it.
  if (relay !== undefined)
    route.relay = (request, socket) => (isBrokerTarget(request.target) ? undefined : relay(request, socket));
  return route;
}

/** `/v1` and `/.well-known`, alone or followed by `/` or `?`: one test, nothing built per request. */
const BROKER_TARGET = /^\/(?:v1|\.well-known)(?:$|[/?])/;

function isBrokerTarget(target: string): boolean {
  return BROKER_TARGET.test(target);
}

import type { AgentHandler, AgentRequest } from "./http1/types.ts";

/**
 * Splits the agent port between the broker API and the proxy on the raw request target. `/v1/` is
 * the broker's namespace (DESIGN §4.3), decided before any parsing, so no host can be named "v1" and
 * no proxy path can reach the broker.
 */
export function routeAgentRequests(routes: { broker: AgentHandler; proxy: AgentHandler }): AgentHandler {
  return (request: AgentRequest) => (isBrokerTarget(request.target) ? routes.broker : routes.proxy)(request);
}

function isBrokerTarget(target: string): boolean {
  return target === "/v1" || target.startsWith("/v1/") || target.startsWith("/v1?");
}

/**
 * The agent API on the agent port (DESIGN §4.1): `/v1/grants`, `/v1/token`, `/v1/providers` and
 * the RFC 8414 metadata, answered in OAuth's vocabulary. The caller is already authenticated by its
 * client certificate (`request.client`).
 */
import type { AgentHandler, AgentRequest } from "../agent-port/http1/types.ts";
import type { Config } from "../core/config/types.ts";
import { OAuthError, SurrogateError } from "../core/errors.ts";
import { certificateTimeProblem } from "../core/identity/validity.ts";
import { clientIdOf } from "./client-id.ts";
import type { BrokerContext } from "./context.ts";
import { handleDeviceToken } from "./device-token.ts";
import { handleGrant } from "./grants.ts";
import { DEVICE_CODE_GRANT, METADATA_PATH, metadataResponse } from "./metadata.ts";
import { errorResponse, oauthError } from "./oauth-response.ts";
import { handleProviders } from "./providers-list.ts";
import { DEFAULT_CREATE_RATE, RateLimiter } from "./rate-limit.ts";
import { createRefreshHandler, type RefreshHandler } from "./refresh.ts";
import { readParams } from "./request-body.ts";

/**
 * What the composition root passes: the dependencies every part shares (see ./context.ts), and the
 * configuration the settings are copied out of. `config.policy` is only what the process started
 * with; `policy` is the current one (replaced on SIGHUP).
 */
export type AgentApiDeps = Omit<BrokerContext, "issue" | "rendezvous"> & { config: Config };

/**
 * A request on a connection whose certificate is no longer valid (it was at the handshake):
 * RFC 6749 §5.2 `invalid_client`, 401, and the connection closes after this response.
 */
async function refuseExpired(
  deps: Pick<BrokerContext, "logger">,
  request: AgentRequest,
  problem: string,
): Promise<Response> {
  await request.body?.cancel().catch(() => undefined);
  deps.logger.audit("auth.failed", { reason: "certificate_expired", workload: request.client.workload });
  return oauthError("invalid_client", `client certificate ${problem}; reconnect with a current one`, {
    status: 401,
    headers: { connection: "close" },
  });
}

/** The path exactly as sent, without the query: no decoding or dot-segment resolution (DESIGN §11). */
function pathOf(target: string): string {
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

async function token(deps: BrokerContext, refresh: RefreshHandler, request: AgentRequest): Promise<Response> {
  const params = await readParams(request.headers, request.body);
  const clientId = clientIdOf(deps.providers, params);
  const grantType = params.get("grant_type");
  if (grantType === DEVICE_CODE_GRANT) return handleDeviceToken(deps, request.client, params, clientId);
  if (grantType === "refresh_token") return refresh(request.client, params, clientId);
  if (grantType === undefined || grantType === "")
    throw new OAuthError("invalid_request", "grant_type: missing");
  throw new OAuthError("unsupported_grant_type", "grant_type: not supported here");
}

async function grants(deps: BrokerContext, limiter: RateLimiter, request: AgentRequest): Promise<Response> {
  return handleGrant(deps, request.client, await readParams(request.headers, request.body), limiter);
}

/** A cap or store outage passes with time, so the answer says when trying again makes sense. */
function failure(deps: BrokerContext, error: unknown): Response {
  const code = error instanceof SurrogateError ? error.code : undefined;
  if (code === "rate_limited" || code === "temporarily_unavailable") {
    return errorResponse(error, { retryAfter: deps.rendezvous.interval });
  }
  // Only the name and code: an unexpected error's message is not known to be free of secrets.
  if (!(error instanceof OAuthError)) {
    deps.logger.error("broker.request_failed", {
      error: error instanceof Error ? error.name : "unknown",
      code,
    });
  }
  return errorResponse(error);
}

interface Route {
  method: "GET" | "POST";
  handle: (request: AgentRequest) => Promise<Response>;
}

/** The settings the parts use, copied out of the configuration once. */
function brokerContext({ config, ...deps }: AgentApiDeps): BrokerContext {
  const { issuer, tokenTtl, refreshTtl, rendezvous } = config;
  return {
    ...deps,
    issue: { issuer, tokenTtl, refreshTtl },
    rendezvous: { grantTtl: rendezvous.grantTtl, interval: rendezvous.interval },
  };
}

export function createAgentApi(dependencies: AgentApiDeps): AgentHandler {
  const deps = brokerContext(dependencies);
  const refresh = createRefreshHandler(deps);
  const limiter = new RateLimiter({
    perMinute: dependencies.config.rendezvous.createRate ?? DEFAULT_CREATE_RATE,
    now: deps.now,
  });
  const routes: Record<string, Route> = {
    "/v1/grants": { method: "POST", handle: (request) => grants(deps, limiter, request) },
    "/v1/token": { method: "POST", handle: (request) => token(deps, refresh, request) },
    "/v1/providers": { method: "GET", handle: async (request) => handleProviders(deps, request.client) },
    [METADATA_PATH]: {
      method: "GET",
      handle: async () => metadataResponse(dependencies.config.agent.publicUrl),
    },
  };
  return async (request) => {
    const expired = certificateTimeProblem(request.client, deps.now());
    if (expired !== undefined) return refuseExpired(deps, request, expired);
    const path = pathOf(request.target);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined || request.method !== route.method) {
      // Refused without reading: whatever body was sent is discarded, not buffered.
      await request.body?.cancel().catch(() => undefined);
      if (route === undefined) return oauthError("invalid_request", "no such endpoint", { status: 404 });
      return oauthError("invalid_request", `only ${route.method} is allowed`, {
        status: 405,
        headers: { allow: route.method },
      });
    }
    try {
      return await route.handle(request);
    } catch (error) {
      return failure(deps, error);
    }
  };
}

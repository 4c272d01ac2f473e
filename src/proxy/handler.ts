import { timingSafeEqual } from "node:crypto";
import type { AgentHandler, AgentRequest } from "../agent-port/http1/types.ts";
import type { PolicyView } from "../core/access/policy-gate.ts";
import { factsOf } from "../core/access/revocation.ts";
import type { RevocationView } from "../core/access/revocation-list.ts";
import { ProxyError, SurrogateError } from "../core/errors.ts";
import { parseTarget, type Target } from "../core/http/target.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import { certificateTimeProblem } from "../core/identity/validity.ts";
import type { KeySets } from "../core/keys/types.ts";
import { isAllowed } from "../core/provider/allowlist.ts";
import { applyInjection, injectionFor } from "../core/provider/inject.ts";
import type { ResolvedProvider, UpstreamRule } from "../core/provider/types.ts";
import { openWrapper } from "../core/token/open.ts";
import type { SealedSecret, VerifiedWrapper } from "../core/token/types.ts";
import { verifyWrapper } from "../core/token/verify.ts";
import type { LogFields, Logger } from "../ops/log/logger.ts";
import { extractBearer } from "./bearer.ts";
import { WrapperCache } from "./cache.ts";
import { forward, upstreamTrust } from "./forward.ts";
import { buildUpstreamHeaders } from "./headers.ts";
import { PROBLEM_STATUS, problem, problemFor } from "./problem.ts";
import { askForIdentity, relayScrub, scrubResponse } from "./scrub-response.ts";

export interface ProxyDeps {
  providers: ReadonlyMap<string, ResolvedProvider>;
  /** The current `[[policy]]`, asked on every request (issue #15). */
  policy: PolicyView;
  /** The revocation rules every instance shares, asked on every request (issue #15). */
  revocations: RevocationView;
  keys: () => KeySets;
  issuer: string;
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  now: () => number;
  logger: Logger;
  /** Seconds the upstream may stay silent before 504. */
  upstreamTimeout: number;
  /** PEM of an extra CA for private upstreams; system CAs always apply. */
  upstreamCa?: string;
  cacheSize?: number;
  /** Mask the real token in what upstreams answer (`agent.scrub_responses`); default true. */
  scrubResponses?: boolean;
}

/**
 * TRACE would make the upstream echo the request — injected token included — back to the agent
 * (RFC 9110 §9.3.8); CONNECT opens a tunnel whose inner host nobody checks (tokenizer dropped it).
 */
const REFUSED_METHODS: ReadonlySet<string> = new Set(["TRACE", "CONNECT"]);
const BODILESS_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/**
 * The swapping proxy (DESIGN §4.3). Every check runs, in this order and each with its own code
 * (DESIGN §9), before any upstream is contacted: bearer present, target well-formed, headers
 * unambiguous, wrapper verified, certificate binding, not revoked, provider known, policy, host allowed. Only then is
 * the real token decrypted, injected after header filtering, and the request forwarded.
 */
export function createProxyHandler(deps: ProxyDeps): AgentHandler {
  const cache = new WrapperCache(deps.cacheSize);
  const ca = upstreamTrust(deps.upstreamCa);
  const timeoutMs = deps.upstreamTimeout * 1000;
  const scrubbing = deps.scrubResponses ?? true;

  return async (request) => {
    const started = deps.now();
    const log: LogFields = { workload: request.client.workload, method: request.method };
    let response: Response;
    try {
      response = await proxy(request, log);
    } catch (error) {
      response = errorResponse(error, log, deps.logger);
    }
    log.status = response.status;
    log.bytes = numberOrUndefined(response.headers.get("content-length"));
    log.duration_ms = deps.now() - started;
    deps.logger.access(log);
    return response;
  };

  async function proxy(request: AgentRequest, log: LogFields): Promise<Response> {
    // Before anything else, on every request: the handshake's check does not cover a kept-alive
    // connection whose certificate has expired since (SPIFFE revokes by expiry).
    const expired = certificateTimeProblem(request.client, deps.now());
    if (expired !== undefined) {
      throw new ProxyError(
        "certificate_expired",
        `proxy: the client certificate ${expired}; reconnect with a current one`,
      );
    }
    const token = extractBearer(request.rawHeaders);
    const target = parseTarget(request.target);
    log.host = target.port === undefined ? target.host : `${target.host}:${target.port}`;
    log.path = target.pathAndQuery.split("?", 1)[0];
    if (REFUSED_METHODS.has(request.method.toUpperCase())) {
      throw new ProxyError("invalid_request", `proxy: method ${request.method.toUpperCase()} is not proxied`);
    }
    // fetch cannot send a GET or HEAD body, so such a request would fail as "upstream unreachable":
    // say what is wrong instead (RFC 9110 §9.3.1: a GET body has no defined meaning).
    if (BODILESS_METHODS.has(request.method.toUpperCase()) && request.body !== null) {
      throw new ProxyError(
        "invalid_request",
        `proxy: a ${request.method.toUpperCase()} request cannot carry a body`,
      );
    }
    const headers = buildUpstreamHeaders(request.rawHeaders);
    const keys = deps.keys();
    const now = deps.now();
    const cached = cache.get(token, request.client.thumbprint, keys, now);
    log.cache = cached === undefined ? "miss" : "hit";
    const wrapper =
      cached?.wrapper ?? (await verifyWrapper(token, "access", keys, { issuer: deps.issuer, now }));
    log.jti = wrapper.jti;
    log.provider = wrapper.provider;
    checkBinding(wrapper, request.client);
    // On cache hits too: the cache remembers a verification, never a permission (issue #15).
    if (deps.revocations.revoking(factsOf(wrapper, request.client.workload)) !== undefined) {
      throw new ProxyError("invalid_token", "revoked");
    }
    const provider = deps.providers.get(wrapper.provider);
    if (provider === undefined)
      throw new ProxyError("invalid_token", "proxy: the wrapper's provider is not configured");
    // On cache hits too: a rule removed by SIGHUP stops wrappers minted before it (issue #15).
    if (!deps.policy.allows(request.client.workload, provider.name)) {
      throw new ProxyError(
        "access_denied",
        "proxy: [[policy]] no longer lets this workload use this provider",
      );
    }
    const rule = allowedRule(provider, target);
    const secret = cached?.secret ?? (await openAndCache(token, request.client.thumbprint, keys, wrapper));
    applyInjection(headers, injectionFor(provider, target.pathAndQuery), secret.token);
    if (scrubbing) askForIdentity(headers);
    const scrub = scrubbing ? relayScrub(secret.token) : undefined;
    const response = await forward(
      {
        url: upstreamUrl(rule, target),
        method: request.method,
        headers,
        body: request.body,
        signal: request.signal,
      },
      {
        fetch: deps.fetch,
        timeoutMs,
        ...(ca === undefined ? {} : { ca }),
        ...(scrub === undefined ? {} : { bodyTransform: scrub.transform }),
      },
    );
    // An allowed upstream that echoes its request would hand the injected token back (issue #9).
    return scrub === undefined ? response : scrubResponse(response, secret.token, scrub.applied);
  }

  async function openAndCache(token: string, thumbprint: string, keys: KeySets, wrapper: VerifiedWrapper) {
    const secret: SealedSecret = await openWrapper(wrapper, keys);
    cache.set(token, thumbprint, keys, { wrapper, secret });
    return secret;
  }
}

/**
 * Runs on every request, cache hit or not. `x5t#S256`: the certificate on this connection must be
 * the one in `cnf` (RFC 8705 §3). `jkt`: its public key must be the bound one (RFC 7638), so a
 * renewed certificate for the same key pair still works; TLS already proved possession of that key.
 */
function checkBinding(wrapper: VerifiedWrapper, client: ClientIdentity): void {
  const { kind, value } = wrapper.binding;
  const presented = kind === "jkt" ? client.keyThumbprint : client.thumbprint;
  if (!sameThumbprint(value, presented)) {
    const bound = kind === "jkt" ? "public key" : "client certificate";
    throw new ProxyError("binding_mismatch", `proxy: the wrapper is bound to a different ${bound}`);
  }
}

/**
 * Both thumbprints are public (the agent can read `cnf`, the certificate is its own), so their
 * length is no secret and need not be hidden behind digests as constantTimeEqual does for secrets;
 * the bytes are still compared without an early exit.
 */
function sameThumbprint(bound: string, presented: string): boolean {
  return bound.length === presented.length && timingSafeEqual(Buffer.from(bound), Buffer.from(presented));
}

function allowedRule(provider: ResolvedProvider, target: Target): UpstreamRule {
  const rule = isAllowed(provider.upstreams, target.host, target.port);
  if (rule === undefined) {
    throw new ProxyError(
      "host_not_allowed",
      `proxy: ${target.host} is not an upstream of provider ${provider.name}`,
    );
  }
  return rule;
}

/** Built from the one parsed target only; the client's Host header was dropped (DESIGN §4.3). */
function upstreamUrl(rule: UpstreamRule, target: Target): string {
  return `${rule.scheme}://${target.host}:${rule.port}${target.pathAndQuery}`;
}

function errorResponse(error: unknown, log: LogFields, logger: Logger): Response {
  if (error instanceof SurrogateError && PROBLEM_STATUS[error.code] !== undefined) {
    log.code = error.code;
    return problemFor(error.code, error.message);
  }
  // Unknown failures are logged by type only: their messages were not written to be secret-free.
  logger.error("proxy.request_failed", { error: error instanceof Error ? error.name : typeof error });
  log.code = "server_error";
  return problem(500, "server_error", "proxy: internal error");
}

function numberOrUndefined(text: string | null): number | undefined {
  return text === null || !/^\d+$/.test(text) ? undefined : Number(text);
}

import type { AgentHandler, AgentRequest } from "../agent-port/http1/types.ts";
import type { PolicyView } from "../core/access/policy-gate.ts";
import type { RevocationView } from "../core/access/revocation-list.ts";
import type { KeySets } from "../core/keys/types.ts";
import { applyInjection, injectionFor } from "../core/provider/inject.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import { openWrapper } from "../core/token/open.ts";
import type { SealedSecret, VerifiedWrapper } from "../core/token/types.ts";
import { verifyWrapper } from "../core/token/verify.ts";
import { AccessRecord } from "../ops/log/access.ts";
import type { Logger } from "../ops/log/logger.ts";
import { WrapperCache } from "./cache.ts";
import { authorize, precheck, upstreamUrl } from "./checks.ts";
import { forward, upstreamTrust } from "./forward.ts";
import { errorResponse, numberOrUndefined } from "./problem.ts";
import { createRelay } from "./relay-plan.ts";
import { askForIdentity, relayScrub, scrubResponse } from "./scrub-response.ts";

export interface ProxyDeps {
  providers: ReadonlyMap<string, ResolvedProvider>;
  /** The current `[[policy]]`, asked on every request (issue #15). */
  policy: PolicyView;
  /** The revocation rules every instance shares, asked on every request (issue #15). */
  revocations: RevocationView;
  keys: () => KeySets;
  issuer: string;
  /** The handler path's client: requests the relay does not take (uncached wrappers, refusals). */
  fetch: typeof fetch;
  /** Serve requests whose wrapper is in the verification cache on the byte relay; default true. */
  relay?: boolean;
  /**
   * Asked with the upstream URL before the relay sends a request there, as the handler path calls
   * `fetch` with it (once per request, whether or not a pooled connection is reused); false refuses
   * the request as an unreachable upstream (502 upstream_unreachable). It exists so that what reaches
   * an upstream can be observed, and a dial refused, on both paths alike: the attack suites record
   * every URL and must never resolve a DNS name (test/security/harness.ts).
   */
  dial?: (url: string) => boolean;
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

  const handler: AgentHandler = async (request) => {
    const started = deps.now();
    const log = new AccessRecord(request.client.workload, request.method);
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
  // The common case, a request whose wrapper is in the verification cache, is served as bytes.
  if (deps.relay ?? true) handler.relay = createRelay(deps, cache);
  return handler;

  async function proxy(request: AgentRequest, log: AccessRecord): Promise<Response> {
    const checked = precheck(deps, cache, request, request.body !== null, log);
    const { token, target, headers, keys, now, cached } = checked;
    const wrapper =
      cached?.wrapper ?? (await verifyWrapper(token, "access", keys, { issuer: deps.issuer, now }));
    const { provider, rule } = authorize(deps, wrapper, request.client, target, log);
    const secret = cached?.secret ?? (await openAndCache(token, request.client.thumbprint, keys, wrapper));
    applyInjection(headers, injectionFor(provider, target.pathAndQuery), secret.token);
    if (scrubbing) askForIdentity(headers);
    const scrub = scrubbing ? relayScrub(secret.token) : undefined;
    const response = await forward(
      {
        url: upstreamUrl(rule, target),
        method: request.method,
        headers: headers.toHeaders(),
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

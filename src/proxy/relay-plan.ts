/**
 * What the byte relay takes on and how (./relay.ts does the I/O): the handler's checks, in the same
 * order and from the same module (./checks.ts), on a request (with or without a body) whose wrapper
 * is in the verification cache. Anything else — a wrapper to verify, any refusal, a method the upstream
 * serialiser does not send — is left to the handler, which runs the checks again and answers.
 */
import type { AgentRelay, RelayRequest } from "../agent-port/http1/types.ts";
import type { Target } from "../core/http/target.ts";
import { injectionFor } from "../core/provider/inject.ts";
import type { UpstreamRule } from "../core/provider/types.ts";
import { AccessRecord } from "../ops/log/access.ts";
import type { WrapperCache } from "./cache.ts";
import { authorize, precheck, upstreamUrl } from "./checks.ts";
import { upstreamTrust } from "./forward.ts";
import type { ProxyDeps } from "./handler.ts";
import { errorResponse, numberOrUndefined } from "./problem.ts";
import { startRelay } from "./relay.ts";
import { RelayFields } from "./relay-fields.ts";
import type { RelayEnv, RelayPlan } from "./relay-types.ts";
import { leakPatternsOf } from "./scrub-patterns.ts";
import { scrubResponse } from "./scrub-response.ts";
import { ConnectionPool } from "./upstream/pool.ts";
import { parseTarget, type Target as UpstreamTarget } from "./upstream/target.ts";

/** Idle keep-alive upstream connections kept per origin, and for how long. */
const MAX_IDLE_PER_ORIGIN = 64;
const IDLE_MS = 15_000;
/** Bytes of status line and fields accepted from an upstream. */
const MAX_HEAD_BYTES = 65_536;

export function createRelay(deps: ProxyDeps, cache: WrapperCache): AgentRelay {
  const env: RelayEnv = {
    pool: new ConnectionPool(MAX_IDLE_PER_ORIGIN, IDLE_MS),
    ca: upstreamTrust(deps.upstreamCa),
    // The socket's own timeout counts whole seconds.
    timeoutSeconds: Math.max(1, Math.ceil(deps.upstreamTimeout)),
    maxHeadBytes: MAX_HEAD_BYTES,
    dial: deps.dial,
  };
  const scrubbing = deps.scrubResponses ?? true;
  const fields = new RelayFields(scrubbing);
  return (request, socket) => {
    const started = deps.now();
    const log = new AccessRecord(request.client.workload, request.method);
    const plan = planOf(request, log);
    if (plan === undefined) return undefined;
    const answered = (status: number, bytes: number | undefined, code?: string) => {
      log.status = status;
      log.bytes = bytes;
      if (code !== undefined) log.code = code;
      log.duration_ms = deps.now() - started;
      deps.logger.access(log);
    };
    return startRelay(
      env,
      { ...plan, answered, decoded: (response) => decoded(response, plan, log, answered) },
      socket,
    );
  };

  function planOf(request: RelayRequest, log: AccessRecord) {
    try {
      const hasBody = request.body !== undefined;
      const { rawHeaders } = request;
      const known = fields.known(rawHeaders);
      const work = precheck(deps, cache, request, hasBody, log, known);
      const { target, cached } = work;
      if (cached === undefined) return undefined;
      const { provider, rule } = authorize(deps, cached.wrapper, request.client, target, log);
      const token = cached.secret.token;
      const block = known ?? fields.remember(rawHeaders, work);
      const lines = block.lines(injectionFor(provider, target.pathAndQuery), token);
      const { url, upstream } = upstreamOf(rule, target);
      return {
        url,
        target: upstream,
        head: block.head(upstream, request.method, lines, hasBody),
        patterns: scrubbing ? leakPatternsOf(token) : undefined,
        token,
        minor: request.minor,
        keepAlive: request.keepAlive,
        body: request.body,
      };
    } catch {
      // Refused: the handler runs the same checks and answers with the code of the one that failed.
      return undefined;
    }
  }

  /** A compressed answer: decoded and scrubbed as on the handler path. */
  async function decoded(
    response: Response,
    plan: { token: RelayPlanToken },
    log: AccessRecord,
    answered: RelayPlan["answered"],
  ): Promise<Response> {
    let answer: Response;
    try {
      answer = await scrubResponse(response, plan.token, false);
    } catch (error) {
      answer = errorResponse(error, log, deps.logger);
    }
    answered(answer.status, numberOrUndefined(answer.headers.get("content-length")), log.code);
    return answer;
  }
}

type RelayPlanToken = Parameters<typeof scrubResponse>[1];

interface Upstream {
  rule: UpstreamRule;
  url: string;
  upstream: UpstreamTarget;
}

/**
 * The upstream URL and its parsed form, kept with the request's Target: both are pure functions of
 * that target and the allow-list rule it matched, and an agent calls the same few endpoints again
 * and again (the request target is itself parsed once per text, src/core/http/target.ts). The rule
 * is compared on every request, so a reloaded provider is never served an old answer.
 */
const upstreams = new WeakMap<Target, Upstream>();

function upstreamOf(rule: UpstreamRule, target: Target): Upstream {
  const known = upstreams.get(target);
  if (known !== undefined && known.rule === rule) return known;
  const url = upstreamUrl(rule, target);
  const entry = { rule, url, upstream: Object.freeze(parseTarget(url)) };
  upstreams.set(target, entry);
  return entry;
}

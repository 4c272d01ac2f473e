/**
 * The proxy's checks (DESIGN §4.3), in their one order and each with its own code (DESIGN §9), shared
 * by the handler and the byte relay so neither can skip or reorder one: client certificate still
 * valid, bearer present, target well-formed, method, headers unambiguous, wrapper (from the
 * verification cache, else verified by the caller), certificate binding, not revoked, provider
 * known, policy, host allowed.
 */
import type { AgentRequest } from "../agent-port/http1/types.ts";
import type { PolicyView } from "../core/access/policy-gate.ts";
import { factsOf } from "../core/access/revocation.ts";
import type { RevocationView } from "../core/access/revocation-list.ts";
import { ProxyError } from "../core/errors.ts";
import type { FieldList } from "../core/http/field-list.ts";
import { parseTarget, type Target } from "../core/http/target.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import { certificateTimeProblem } from "../core/identity/validity.ts";
import type { KeySets } from "../core/keys/types.ts";
import { isAllowed } from "../core/provider/allowlist.ts";
import type { ResolvedProvider, UpstreamRule } from "../core/provider/types.ts";
import type { VerifiedWrapper } from "../core/token/types.ts";
import type { AccessFields } from "../ops/log/access.ts";
import { extractBearer } from "./bearer.ts";
import type { OpenedWrapper, WrapperCache } from "./cache.ts";
import { buildUpstreamHeaders } from "./headers.ts";

/** What the checks read of a request; the relay's bodiless requests have no body stream at all. */
export type CheckedRequest = Pick<AgentRequest, "method" | "target" | "rawHeaders" | "client">;

export interface CheckDeps {
  providers: ReadonlyMap<string, ResolvedProvider>;
  policy: PolicyView;
  revocations: RevocationView;
  keys: () => KeySets;
  now: () => number;
}

/**
 * What the checks derive from a request's field lines alone (bearer and header rules): the same
 * lines always give the same, so a caller may keep it for a connection's next request with the
 * very same lines (src/agent-port/http1/head.ts HeadParser) and hand it back to `precheck`.
 */
export interface HeaderWork {
  token: string;
  /** The upstream request's fields, filtered, before injection. Shared: clone before changing it. */
  headers: FieldList;
}

/** The request as far as it is known before the wrapper is: everything checked up to the cache lookup. */
export interface Prechecked {
  token: string;
  target: Target;
  /** The upstream request's headers, filtered; injection comes later. */
  headers: FieldList;
  keys: KeySets;
  now: number;
  cached: OpenedWrapper | undefined;
}

/**
 * TRACE would make the upstream echo the request — injected token included — back to the agent
 * (RFC 9110 §9.3.8); CONNECT opens a tunnel whose inner host nobody checks (tokenizer dropped it).
 */
const REFUSED_METHODS: ReadonlySet<string> = new Set(["TRACE", "CONNECT"]);
const BODILESS_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/**
 * The checks before the wrapper: bearer, target, method, headers; then the cache is asked. `known`:
 * the bearer and header rules' result for these very field lines, which passed them before.
 */
export function precheck(
  deps: CheckDeps,
  cache: WrapperCache,
  request: CheckedRequest,
  hasBody: boolean,
  log: AccessFields,
  known?: HeaderWork,
): Prechecked {
  const now = deps.now();
  // Before anything else, on every request: the handshake's check does not cover a kept-alive
  // connection whose certificate has expired since (SPIFFE revokes by expiry).
  const expired = certificateTimeProblem(request.client, now);
  if (expired !== undefined) {
    throw new ProxyError(
      "certificate_expired",
      `proxy: the client certificate ${expired}; reconnect with a current one`,
    );
  }
  const token = known?.token ?? extractBearer(request.rawHeaders);
  const target = parseTarget(request.target);
  log.host = target.port === undefined ? target.host : `${target.host}:${target.port}`;
  const query = target.pathAndQuery.indexOf("?");
  log.path = query < 0 ? target.pathAndQuery : target.pathAndQuery.slice(0, query);
  const method = request.method.toUpperCase();
  if (REFUSED_METHODS.has(method)) {
    throw new ProxyError("invalid_request", `proxy: method ${method} is not proxied`);
  }
  // fetch cannot send a GET or HEAD body, so such a request would fail as "upstream unreachable":
  // say what is wrong instead (RFC 9110 §9.3.1: a GET body has no defined meaning).
  if (BODILESS_METHODS.has(method) && hasBody) {
    throw new ProxyError("invalid_request", `proxy: a ${method} request cannot carry a body`);
  }
  const headers = known?.headers ?? buildUpstreamHeaders(request.rawHeaders);
  const keys = deps.keys();
  const cached = cache.get(token, request.client.thumbprint, keys, now);
  log.cache = cached === undefined ? "miss" : "hit";
  return { token, target, headers, keys, now, cached };
}

/** The checks after the wrapper is known; on cache hits too (issue #15). Returns the provider and rule. */
export function authorize(
  deps: CheckDeps,
  wrapper: VerifiedWrapper,
  client: ClientIdentity,
  target: Target,
  log: AccessFields,
): { provider: ResolvedProvider; rule: UpstreamRule } {
  log.jti = wrapper.jti;
  log.provider = wrapper.provider;
  checkBinding(wrapper, client);
  // On cache hits too: the cache remembers a verification, never a permission (issue #15).
  if (deps.revocations.revoking(factsOf(wrapper, client.workload)) !== undefined) {
    throw new ProxyError("invalid_token", "revoked");
  }
  const provider = deps.providers.get(wrapper.provider);
  if (provider === undefined)
    throw new ProxyError("invalid_token", "proxy: the wrapper's provider is not configured");
  // On cache hits too: a rule removed by SIGHUP stops wrappers minted before it (issue #15).
  if (!deps.policy.allows(client.workload, provider.name)) {
    throw new ProxyError("access_denied", "proxy: [[policy]] no longer lets this workload use this provider");
  }
  return { provider, rule: allowedRule(provider, target) };
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
 * the characters are still compared without an early exit (and without a Buffer per request).
 */
function sameThumbprint(bound: string, presented: string): boolean {
  if (bound.length !== presented.length) return false;
  let difference = 0;
  for (let index = 0; index < bound.length; index += 1)
    difference |= bound.charCodeAt(index) ^ presented.charCodeAt(index);
  return difference === 0;
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
export function upstreamUrl(rule: UpstreamRule, target: Target): string {
  return `${rule.scheme}://${target.host}:${rule.port}${target.pathAndQuery}`;
}

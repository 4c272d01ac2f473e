/**
 * `/readyz` and `/metrics`. Readiness is cheap and says which dependency is missing: keys loaded
 * (an encryption key, and a signing key unless this is a proxy-only instance), the agent port
 * listening, the rendezvous backend answering. `/metrics` may be protected with a bearer token
 * (`[metrics] bearer`), compared in constant time.
 */
import { METRICS_CONTENT_TYPE, renderMetrics } from "../../ops/metrics/exposition.ts";
import { plain } from "../shared/reply.ts";
import type { HealthContext } from "./context.ts";

export async function readiness(context: HealthContext): Promise<Response> {
  const problems: string[] = [];
  if (!keysLoaded(context)) problems.push("keys not loaded");
  if (context.agentListening !== undefined && !context.agentListening())
    problems.push("agent port not listening");
  if (!(await ping(context))) problems.push("rendezvous unreachable");
  return problems.length === 0 ? plain("ready") : plain(`not ready: ${problems.join(", ")}`, 503);
}

function keysLoaded(context: HealthContext): boolean {
  try {
    const keys = context.keys();
    return keys.decrypters.size > 0 && keys.verifiers.size > 0;
  } catch {
    return false;
  }
}

async function ping(context: HealthContext): Promise<boolean> {
  try {
    return await context.store.ping();
  } catch {
    return false;
  }
}

export async function metrics(context: HealthContext, request: Request): Promise<Response> {
  const bearer = context.metricsBearer;
  if (bearer !== undefined) {
    const header = request.headers.get("authorization") ?? "";
    const presented = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header)?.[1];
    if (presented === undefined || !bearer.equals(presented)) {
      context.logger.audit("auth.failed", { reason: "metrics_bearer", outcome: "refused" });
      // RFC 6750 §3: say which scheme is expected.
      return plain("unauthorized", 401, { "www-authenticate": 'Bearer realm="metrics"' });
    }
  }
  const text = await renderMetrics({
    observer: context.observer,
    store: context.store,
    now: context.now,
    startedAt: context.startedAt,
  });
  return new Response(text, { headers: { "content-type": METRICS_CONTENT_TYPE } });
}

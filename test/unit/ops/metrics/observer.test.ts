import { describe, expect, test } from "bun:test";
import type { ResolvedProvider } from "../../../../src/core/provider/types.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";
import { Observer } from "../../../../src/ops/metrics/observer.ts";
import { bearerProvider } from "../../../helpers/providers.ts";

function provider(name: string, upstreams: string[]): ResolvedProvider {
  return bearerProvider(name, upstreams, { kind: "static", oidc: false });
}

const providers = new Map([
  ["github", provider("github", ["api.github.com"])],
  ["corp", provider("corp", ["*.corp.example", "files.corp.example:8443"])],
]);

function setup(
  audit?: { proxyRequests: "all" | "errors" | "sampled"; sampleRate: number },
  random = () => 0.5,
) {
  const clock = { now: 1_000_000 };
  const observer = new Observer({ providers, now: () => clock.now, random, ...(audit && { audit }) });
  const inner = createMemoryLogger();
  return { observer, inner, logger: observer.observe(inner), clock };
}

describe("Observer", () => {
  test("every line reaches the inner logger unchanged (default: all proxy requests)", () => {
    const { logger, inner } = setup();
    logger.audit("grant.created", { workload: "w", outcome: "created" });
    logger.access({ provider: "github", host: "api.github.com", status: 200, duration_ms: 12 });
    logger.info("hello", { a: 1 });
    logger.error("oops");
    expect(inner.lines.map((line) => JSON.parse(line).event)).toEqual([
      "grant.created",
      "proxy.request",
      "hello",
      "oops",
    ]);
  });

  test("audit events become grant, mint, refresh and auth-failure counters", () => {
    const { logger, observer } = setup();
    logger.audit("grant.created", { outcome: "created", provider: "github" });
    logger.audit("grant.created", { outcome: "denied_by_policy" });
    logger.audit("grant.created", { outcome: "something-new" });
    logger.audit("consent.approved", { provider: "github" });
    logger.audit("consent.denied", { provider: "github" });
    logger.audit("token.minted", { provider: "github", jti: "j1" });
    logger.audit("token.collected", { provider: "github" });
    logger.audit("token.refreshed", { outcome: "refreshed" });
    logger.audit("auth.failed", { reason: "no_certificate" });
    logger.audit("auth.failed", { reason: "\u001b[31mforged" });
    expect(observer.grants.value({ outcome: "created" })).toBe(1);
    expect(observer.grants.value({ outcome: "denied_by_policy" })).toBe(1);
    expect(observer.grants.value({ outcome: "other" })).toBe(1);
    expect(observer.grants.value({ outcome: "approved" })).toBe(1);
    expect(observer.grants.value({ outcome: "denied" })).toBe(1);
    expect(observer.grants.value({ outcome: "completed" })).toBe(1);
    expect(observer.grants.value({ outcome: "collected" })).toBe(1);
    expect(observer.minted.value({ provider: "github" })).toBe(1);
    expect(observer.refreshed.value({ outcome: "refreshed" })).toBe(1);
    expect(observer.authFailures.value({ reason: "no_certificate" })).toBe(1);
    expect(observer.authFailures.value({ reason: "other" })).toBe(1);
    expect(observer.recent.list()[0]?.event).toBe("auth.failed");
  });

  test("access lines: requests by provider/status class, latency of forwarded ones, cache hit rate", () => {
    const { logger, observer } = setup();
    expect(observer.cacheHitRate()).toBeUndefined();
    logger.access({
      provider: "github",
      host: "api.github.com",
      status: 200,
      duration_ms: 40,
      cache: "miss",
    });
    logger.access({ provider: "github", host: "api.github.com", status: 200, duration_ms: 20, cache: "hit" });
    logger.access({ provider: "github", host: "api.github.com", status: 200, duration_ms: 30, cache: "hit" });
    logger.access({ status: 401, code: "invalid_token", duration_ms: 1 });
    expect(observer.proxied.value({ provider: "github", status_class: "2xx" })).toBe(3);
    expect(observer.proxied.value({ provider: "none", status_class: "4xx" })).toBe(1);
    expect(observer.latency.count({ provider: "github" })).toBe(3);
    expect(observer.latency.count({ provider: "none" })).toBe(0);
    expect(observer.cacheHitRate()).toBeCloseTo(2 / 3);
  });

  test("labels stay bounded: unknown providers and hosts become other", () => {
    const { logger, observer, clock } = setup();
    logger.access({ provider: "evil", host: "a.example", status: 200, duration_ms: 1 });
    logger.access({ provider: "corp", host: "x.corp.example", status: 503, duration_ms: 2 });
    logger.access({ provider: "corp", host: "files.corp.example:8443", status: 200, duration_ms: 3 });
    logger.access({ provider: "corp", host: "attacker.example", status: 403, code: "host_not_allowed" });
    expect(observer.proxied.value({ provider: "other", status_class: "2xx" })).toBe(1);
    const hosts = observer.traffic.recent(clock.now).map((sample) => `${sample.provider} ${sample.host}`);
    expect(hosts).toEqual([
      "other other",
      "corp *.corp.example",
      "corp files.corp.example:8443",
      "corp other",
    ]);
  });

  test("proxy_requests = errors keeps only failures in the log; metrics count everything", () => {
    const { logger, observer, inner } = setup({ proxyRequests: "errors", sampleRate: 0 });
    logger.access({ provider: "github", status: 200, duration_ms: 1 });
    logger.access({ provider: "github", status: 502, code: "upstream_unreachable", duration_ms: 1 });
    logger.access({ provider: "github", status: 404, duration_ms: 1 });
    expect(inner.lines.map((line) => JSON.parse(line).status)).toEqual([502, 404]);
    expect(observer.proxied.value({ provider: "github", status_class: "2xx" })).toBe(1);
  });

  test("proxy_requests = sampled keeps errors and a fraction of successes", () => {
    let next = 0;
    const draws = [0.05, 0.5, 0.09, 0.95];
    const { logger, inner } = setup({ proxyRequests: "sampled", sampleRate: 0.1 }, () => draws[next++] ?? 1);
    for (let i = 0; i < 4; i += 1) logger.access({ provider: "github", status: 200, bytes: i });
    logger.access({ provider: "github", status: 500 });
    expect(inner.lines.map((line) => JSON.parse(line).bytes ?? "error")).toEqual([0, 2, "error"]);
  });
});

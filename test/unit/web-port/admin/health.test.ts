import { describe, expect, test } from "bun:test";
import { adminFixture } from "./fixtures.ts";

describe("/readyz and /metrics", () => {
  test("/readyz: ready, then 503 naming what is missing", async () => {
    const listening = { value: true };
    const f = await adminFixture({ agentListening: () => listening.value });
    try {
      const ready = await f.send("/readyz");
      expect(ready.status).toBe(200);
      expect(await ready.text()).toBe("ready");
      expect((await f.send("/healthz")).status).toBe(200);
      listening.value = false;
      f.store.ping = async () => false;
      const broken = await f.send("/readyz");
      expect(broken.status).toBe(503);
      expect(await broken.text()).toBe("not ready: agent port not listening, rendezvous unreachable");
    } finally {
      await f.close();
    }
  });

  test("/metrics: Prometheus text with counters derived from the log stream", async () => {
    const f = await adminFixture();
    try {
      f.logger.audit("grant.created", { outcome: "created", provider: "stub" });
      f.logger.access({
        provider: "stub",
        host: "api.stub.example",
        status: 200,
        duration_ms: 30,
        cache: "miss",
      });
      const response = await f.send("/metrics");
      expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
      const text = await response.text();
      expect(text).toContain('surrogate_grants_total{outcome="created"} 1');
      expect(text).toContain('surrogate_proxy_requests_total{provider="stub",status_class="2xx"} 1');
      expect(text).toContain('surrogate_verification_cache_total{result="miss"} 1');
      expect(text).toContain('surrogate_upstream_duration_seconds_bucket{provider="stub",le="0.05"} 1');
    } finally {
      await f.close();
    }
  });

  test("/metrics with a bearer: 401 without or with a wrong one, 200 with the right one", async () => {
    const f = await adminFixture({ metricsBearer: "metrics-canary-bearer" });
    try {
      const none = await f.send("/metrics");
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toContain("Bearer");
      expect((await f.send("/metrics", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      const ok = await f.send("/metrics", { headers: { authorization: "Bearer metrics-canary-bearer" } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('surrogate_auth_failures_total{reason="metrics_bearer"} 2');
      expect(f.sink.lines.join("\n")).not.toContain("metrics-canary-bearer");
    } finally {
      await f.close();
    }
  });
});

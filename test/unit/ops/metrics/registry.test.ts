import { describe, expect, test } from "bun:test";
import { createMemoryStore } from "../../../../src/broker/rendezvous/memory.ts";
import { renderMetrics } from "../../../../src/ops/metrics/exposition.ts";
import { Observer } from "../../../../src/ops/metrics/observer.ts";
import { RecentEvents } from "../../../../src/ops/metrics/recent.ts";
import { Counter, formatLabels, Histogram } from "../../../../src/ops/metrics/registry.ts";
import { percentile, TrafficWindow } from "../../../../src/ops/metrics/traffic.ts";

describe("Prometheus text format", () => {
  test("label values escape backslash, quote and newline", () => {
    expect(formatLabels({ a: 'x"\\\ny' })).toBe('{a="x\\"\\\\\\ny"}');
    expect(formatLabels({})).toBe("");
  });

  test("counters add up per label set, in any key order", () => {
    const counter = new Counter("c_total", "help");
    counter.inc({ a: "1", b: "2" });
    counter.inc({ b: "2", a: "1" }, 2);
    expect(counter.value({ a: "1", b: "2" })).toBe(3);
    expect(counter.render()).toEqual([
      "# HELP c_total help",
      "# TYPE c_total counter",
      'c_total{a="1",b="2"} 3',
    ]);
  });

  test("histogram buckets are cumulative with +Inf, sum and count", () => {
    const histogram = new Histogram("h", "help", [0.1, 1]);
    histogram.observe({ p: "x" }, 0.05);
    histogram.observe({ p: "x" }, 0.5);
    histogram.observe({ p: "x" }, 5);
    expect(histogram.render().slice(2)).toEqual([
      'h_bucket{p="x",le="0.1"} 1',
      'h_bucket{p="x",le="1"} 2',
      'h_bucket{p="x",le="+Inf"} 3',
      'h_sum{p="x"} 5.55',
      'h_count{p="x"} 3',
    ]);
  });

  test("/metrics text: every family typed, rendezvous gauges, process metrics", async () => {
    const store = createMemoryStore({ maxPendingPerWorkload: 5, maxPendingTotal: 10 });
    const observer = new Observer({ providers: new Map(), now: () => 5_000 });
    const text = await renderMetrics({ observer, store, now: () => 5_000, startedAt: 1_000 });
    for (const family of [
      "surrogate_grants_total counter",
      "surrogate_upstream_duration_seconds histogram",
      "surrogate_verification_cache_total counter",
      "surrogate_rendezvous_grants gauge",
      "process_resident_memory_bytes gauge",
      "process_cpu_seconds_total counter",
    ]) {
      expect(text).toContain(`# TYPE ${family}`);
    }
    expect(text).toContain('surrogate_rendezvous_grants{backend="memory"} 0');
    expect(text).toContain('surrogate_rendezvous_up{backend="memory"} 1');
    expect(text).toContain("process_start_time_seconds 1");
    expect(text).toMatch(/^surrogate_build_info\{version="[^"]+",commit="[^"]+",bun="[^"]+"\} 1$/m);
    // Only standard process_* names; everything else is surrogate_*.
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1] ?? "");
    const standard = [
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "process_cpu_seconds_total",
    ];
    for (const name of names) expect(name.startsWith("surrogate_") || standard.includes(name)).toBe(true);
    expect(text.endsWith("\n")).toBe(true);
    await store.close();
  });

  test("a store that cannot say its size: up is 0 and no size sample at all (never -1)", async () => {
    const broken = {
      backend: "redis",
      ping: () => Promise.reject(new Error("down")),
      size: () => Promise.reject(new Error("down")),
    };
    const observer = new Observer({ providers: new Map(), now: () => 5_000 });
    const text = await renderMetrics({ observer, store: broken, now: () => 5_000, startedAt: 1_000 });
    expect(text).toContain('surrogate_rendezvous_up{backend="redis"} 0');
    expect(text).toContain("# TYPE surrogate_rendezvous_grants gauge");
    expect(text).not.toMatch(/^surrogate_rendezvous_grants\{/m);
    expect(text).not.toMatch(/ -1$/m);
  });
});

describe("TrafficWindow", () => {
  test("one minute of samples, grouped, with nearest-rank percentiles", () => {
    const window = new TrafficWindow(1000);
    window.record(0, "p", "h", "2xx", 999);
    for (let i = 1; i <= 100; i += 1) window.record(30_000, "p", "h", "2xx", i);
    window.record(30_000, "p", "h", "5xx", 7);
    const { total, rows } = window.summary(60_001);
    expect(total.count).toBe(101);
    expect(rows[0]).toMatchObject({ statusClass: "2xx", count: 100, p50Ms: 50, p99Ms: 99 });
    expect(rows[0]?.perSecond).toBeCloseTo(100 / 60);
    expect(rows[1]).toMatchObject({ statusClass: "5xx", count: 1, p50Ms: 7, p99Ms: 7 });
  });

  test("each of provider, host and status class tells groups apart", () => {
    const window = new TrafficWindow(100);
    const groups = [
      ["p", "h", "2xx"],
      ["p", "h", "5xx"],
      ["p", "g", "2xx"],
      ["q", "h", "2xx"],
    ] as const;
    groups.forEach(([provider, host, status], index) => {
      for (let i = 0; i <= index; i += 1) window.record(1, provider, host, status, i);
    });
    const rows = window.summary(2).rows.map((row) => [row.provider, row.host, row.statusClass, row.count]);
    expect(rows).toEqual(groups.map((group, index) => [...group, index + 1]).reverse());
  });

  test("capacity bounds memory: the oldest samples are overwritten", () => {
    const window = new TrafficWindow(3);
    for (let i = 0; i < 5; i += 1) window.record(1, "p", "h", "2xx", i);
    expect(
      window
        .recent(2)
        .map((sample) => sample.durationMs)
        .sort(),
    ).toEqual([2, 3, 4]);
  });

  test("percentile of nothing is 0", () => {
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe("RecentEvents", () => {
  test("keeps a fixed set of fields, cut to length, newest first, bounded", () => {
    const recent = new RecentEvents(2);
    recent.add(1, "a", { workload: "w".repeat(500), cookie: "nope", token: "nope" });
    recent.add(2, "b", {});
    recent.add(3, "c", { outcome: "ok" });
    const list = recent.list();
    expect(list.map((event) => event.event)).toEqual(["c", "b"]);
    expect(list[0]?.fields).toEqual({ outcome: "ok" });
    const single = new RecentEvents(5);
    single.add(1, "a", { workload: "w".repeat(500), cookie: "nope", token: "nope" });
    expect(Object.keys(single.list()[0]?.fields ?? {})).toEqual(["workload"]);
    expect(single.list()[0]?.fields.workload?.length).toBe(201);
  });
});

/**
 * Metrics and the admin's live views are derived from the log stream, not from hooks in the broker
 * or the proxy: `observe(logger)` returns a Logger that updates counters, the traffic window and
 * the recent-events ring, then passes each line on. The same tee applies `[audit] proxy_requests`,
 * so metrics count every request while the log keeps only what the operator asked for.
 */
import type { AuditConfig } from "../../core/config/types.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import type { AccessFields } from "../log/access.ts";
import type { LogFields, Logger } from "../log/logger.ts";
import { HostLabels, oneOf, providerLabel, statusClass } from "./labels.ts";
import { RecentEvents } from "./recent.ts";
import { Counter, type CounterCell, Histogram, type HistogramCell } from "./registry.ts";
import { TrafficWindow } from "./traffic.ts";

export interface ObserverOptions {
  providers: ReadonlyMap<string, ResolvedProvider>;
  audit?: AuditConfig;
  /** Epoch ms. */
  now: () => number;
  /** Uniform in [0, 1), for sampling; injectable for tests. */
  random?: () => number;
}

const GRANT_OUTCOMES = new Set([
  "created",
  "denied_by_policy",
  "rate_limited",
  "invalid_request",
  "temporarily_unavailable",
  "server_error",
]);
const REFRESH_OUTCOMES = new Set([
  "refreshed",
  "invalid_grant",
  "invalid_token",
  "binding_mismatch",
  "idp_error",
  "idp_network",
  "idp_unexpected_response",
  "rate_limited",
  "server_error",
]);
const AUTH_REASONS = new Set([
  "tls_handshake",
  "tls_not_authorized",
  "certificate_invalid",
  "spiffe_invalid",
  "no_certificate",
  "admin_password",
  "admin_not_allowed",
  "admin_login_failed",
  "admin_login_state",
  "admin_login_refused",
  "admin_csrf",
  "metrics_bearer",
]);
const UPSTREAM_CODES = new Set(["upstream_unreachable", "upstream_timeout"]);

/** A provider label's series: latency, and requests by status class. */
interface AccessCells {
  latency: HistogramCell;
  proxied: Map<string, CounterCell>;
}

/** Seconds; upstream APIs answer in tens of milliseconds to tens of seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Observer {
  readonly grants = new Counter(
    "surrogate_grants_total",
    "Device grants by outcome: created (or the refusal), approved, denied, failed, completed, collected.",
  );
  readonly minted = new Counter(
    "surrogate_tokens_minted_total",
    "Wrappers minted after consent, by provider.",
  );
  readonly refreshed = new Counter("surrogate_tokens_refreshed_total", "Refresh grants by outcome.");
  readonly proxied = new Counter(
    "surrogate_proxy_requests_total",
    "Proxied requests by provider and status class.",
  );
  readonly latency = new Histogram(
    "surrogate_upstream_duration_seconds",
    "Time from request to upstream response headers, for forwarded requests.",
    LATENCY_BUCKETS,
  );
  readonly cache = new Counter(
    "surrogate_verification_cache_total",
    "Proxy wrapper-verification cache lookups.",
  );
  readonly authFailures = new Counter("surrogate_auth_failures_total", "Refused authentications by reason.");
  /** Counted by the agent port itself (its log keeps one line per source a minute), not from the log. */
  readonly refusedConnections = new Counter(
    "surrogate_agent_connections_refused_total",
    "Agent-port connections closed unserved, by reason: per_address, pending_handshakes, max_connections, handshake_timeout.",
  );
  readonly traffic = new TrafficWindow();
  readonly recent = new RecentEvents();
  readonly #options: ObserverOptions;
  readonly #random: () => number;
  /** Per provider label, then status class: both bounded, so these maps are too. */
  readonly #accessCells = new Map<string, AccessCells>();
  readonly #hosts = new HostLabels();
  readonly #cacheCells: { hit?: CounterCell; miss?: CounterCell } = {};

  constructor(options: ObserverOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  /** A Logger that records what passes through it, then hands it to `inner`. */
  observe(inner: Logger): Logger {
    return {
      audit: (event, fields) => {
        this.#audit(event, fields);
        inner.audit(event, fields);
      },
      access: (fields) => {
        this.#access(fields);
        if (this.#keepAccessLine(fields)) inner.access(fields);
      },
      info: (message, fields) => inner.info(message, fields),
      error: (message, fields) => inner.error(message, fields),
    };
  }

  /** Hits over lookups, or undefined before the first proxied request. */
  cacheHitRate(): number | undefined {
    const hits = this.cache.value({ result: "hit" });
    const total = hits + this.cache.value({ result: "miss" });
    return total === 0 ? undefined : hits / total;
  }

  #audit(event: string, fields: LogFields): void {
    this.recent.add(this.#options.now(), event, fields);
    const provider = providerLabel(this.#options.providers, fields.provider);
    switch (event) {
      case "grant.created":
        this.grants.inc({ outcome: oneOf(GRANT_OUTCOMES, fields.outcome) });
        return;
      case "consent.approved":
      case "consent.denied":
      case "consent.failed":
        this.grants.inc({ outcome: event.slice("consent.".length) });
        return;
      case "token.collected":
        this.grants.inc({ outcome: "collected" });
        return;
      case "token.minted":
        this.grants.inc({ outcome: "completed" });
        this.minted.inc({ provider });
        return;
      case "token.refreshed":
        this.refreshed.inc({ outcome: oneOf(REFRESH_OUTCOMES, fields.outcome) });
        return;
      case "auth.failed":
        this.authFailures.inc({ reason: oneOf(AUTH_REASONS, fields.reason) });
        return;
    }
  }

  /**
   * Runs once per proxied request: the series are looked up once per label combination (bounded
   * sets, see ./labels.ts) and kept, so a request costs a few additions, not label objects and keys.
   */
  #access(fields: AccessFields): void {
    const { providers } = this.#options;
    const provider = providerLabel(providers, fields.provider);
    const status = statusClass(fields.status);
    const duration =
      typeof fields.duration_ms === "number" && fields.duration_ms >= 0 ? fields.duration_ms : 0;
    const cells = this.#cellsOf(provider);
    this.#proxiedCell(cells, provider, status).inc();
    const forwarded = fields.code === undefined || UPSTREAM_CODES.has(fields.code);
    if (forwarded) cells.latency.observe(duration / 1000);
    if (fields.cache === "hit" || fields.cache === "miss") this.#cacheCell(fields.cache).inc();
    const host = this.#hosts.label(
      typeof fields.provider === "string" ? providers.get(fields.provider) : undefined,
      fields.host,
    );
    this.traffic.record(this.#options.now(), provider, host, status, duration);
  }

  #cacheCell(result: "hit" | "miss"): CounterCell {
    let cell = this.#cacheCells[result];
    if (cell === undefined) {
      cell = this.cache.cell({ result });
      this.#cacheCells[result] = cell;
    }
    return cell;
  }

  /** Looked up by the label strings themselves: no key is built per request. */
  #cellsOf(provider: string): AccessCells {
    let cells = this.#accessCells.get(provider);
    if (cells === undefined) {
      cells = { latency: this.latency.cell({ provider }), proxied: new Map() };
      this.#accessCells.set(provider, cells);
    }
    return cells;
  }

  #proxiedCell(cells: AccessCells, provider: string, status: string): CounterCell {
    let cell = cells.proxied.get(status);
    if (cell === undefined) {
      cell = this.proxied.cell({ provider, status_class: status });
      cells.proxied.set(status, cell);
    }
    return cell;
  }

  /** `errors` keeps refusals and status ≥ 400; `sampled` keeps those plus a fraction of the rest. */
  #keepAccessLine(fields: AccessFields): boolean {
    const mode = this.#options.audit?.proxyRequests ?? "all";
    if (mode === "all") return true;
    const failed = fields.code !== undefined || typeof fields.status !== "number" || fields.status >= 400;
    if (failed) return true;
    return mode === "sampled" && this.#random() < (this.#options.audit?.sampleRate ?? 0);
  }
}

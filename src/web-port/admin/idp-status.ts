/**
 * IdP reachability for the overview: for each discovery-based provider, the OIDC discovery document
 * and its JWKS are fetched in the background (bounded: no redirects, timeout, size cap) at most once
 * a minute. Pages read the last result and never wait for an IdP.
 */

import type { IdpStatus } from "../../../ui/admin/overview.tsx";
import { discoverIssuer } from "../../broker/providers/discovery.ts";
import type { Config } from "../../core/config/types.ts";
import { boundedFetch } from "../../core/io/bounded-fetch.ts";

const DISCOVERY_KINDS: ReadonlySet<string> = new Set(["oidc", "demo"]);
const PROBE_INTERVAL_MS = 60_000;
const JWKS_LIMITS = { timeoutMs: 5_000, maxBytes: 256 * 1024 };

export class IdpProbe {
  readonly #results = new Map<string, IdpStatus>();
  #running: Promise<void> | undefined;
  #lastRun = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: Config,
    private readonly fetchImpl: typeof fetch,
    private readonly now: () => number,
  ) {}

  /** The latest statuses; starts a background check when the last one is older than a minute. */
  statuses(): IdpStatus[] {
    if (this.#running === undefined && this.now() - this.#lastRun >= PROBE_INTERVAL_MS) {
      this.#lastRun = this.now();
      this.#running = this.check().finally(() => {
        this.#running = undefined;
      });
    }
    return Object.values(this.config.providers).map(
      (provider) =>
        this.#results.get(provider.name) ?? initial(provider.name, provider.kind, provider.issuer),
    );
  }

  /** Checks every discovery-based provider now (also used by tests to wait for a result). */
  async check(): Promise<void> {
    await Promise.all(
      Object.values(this.config.providers).map(async (provider) => {
        if (!DISCOVERY_KINDS.has(provider.kind) || provider.issuer === undefined) return;
        const result = await this.#probe(provider.issuer);
        this.#results.set(provider.name, {
          provider: provider.name,
          kind: provider.kind,
          ...result,
          checkedAt: this.now(),
        });
      }),
    );
  }

  async #probe(issuer: string): Promise<Pick<IdpStatus, "state" | "detail">> {
    let jwksUri: string;
    try {
      jwksUri = (await discoverIssuer(issuer, "discovery", this.fetchImpl)).jwksUri;
    } catch (error) {
      return { state: "failing", detail: error instanceof Error ? error.message : "discovery failed" };
    }
    try {
      const response = await boundedFetch(this.fetchImpl, JWKS_LIMITS)(jwksUri);
      if (response.status !== 200) return { state: "failing", detail: `JWKS: HTTP ${response.status}` };
      const body: unknown = await response.json();
      const keys = typeof body === "object" && body !== null ? (body as { keys?: unknown }).keys : undefined;
      if (!Array.isArray(keys)) return { state: "failing", detail: "JWKS: no keys array" };
      return {
        state: "ok",
        detail: `discovery and JWKS reachable (${keys.length} key${keys.length === 1 ? "" : "s"})`,
      };
    } catch {
      return { state: "failing", detail: "JWKS: unreachable or unreadable" };
    }
  }
}

function initial(provider: string, kind: string, issuer: string | undefined): IdpStatus {
  if (kind === "static") return { provider, kind, state: "not_applicable", detail: "no identity provider" };
  if (!DISCOVERY_KINDS.has(kind) || issuer === undefined) {
    return { provider, kind, state: "not_applicable", detail: "fixed endpoints, not probed" };
  }
  return { provider, kind, state: "unchecked", detail: "checking…" };
}

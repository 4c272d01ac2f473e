/**
 * Label values for metrics and the traffic view, always from bounded sets: a configured provider
 * name, a configured upstream rule, a status class, or a fixed vocabulary. Anything else becomes
 * "other", so a workload or an agent choosing hosts cannot create new series (cardinality blow-up
 * is a denial of service on the metrics pipeline).
 */

import { isAllowed } from "../../core/provider/allowlist.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";

export const OTHER = "other";

export function providerLabel(providers: ReadonlyMap<string, ResolvedProvider>, value: unknown): string {
  if (value === undefined || value === null) return "none";
  return typeof value === "string" && providers.has(value) ? value : OTHER;
}

/** The allow-list rule the host matched (`api.github.com`, `*.corp.example`), else "other". */
function hostLabel(provider: ResolvedProvider | undefined, value: unknown): string {
  if (provider === undefined || typeof value !== "string") return OTHER;
  const match = /^(.+?)(?::(\d{1,5}))?$/.exec(value);
  if (match === null || match[1] === undefined) return OTHER;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  const rule = isAllowed(provider.upstreams, match[1].toLowerCase(), port);
  if (rule === undefined) return OTHER;
  const host = rule.wildcard ? `*.${rule.host}` : rule.host;
  return match[2] === undefined ? host : `${host}:${rule.port}`;
}

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

export function statusClass(value: unknown): string {
  return typeof value === "number" && value >= 100 && value < 600
    ? (STATUS_CLASSES[Math.floor(value / 100) - 1] as string)
    : OTHER;
}

/** Entries kept by HostLabels: hosts come from agents, so the memo is bounded like everything else. */
const MAX_REMEMBERED_HOSTS = 1024;

/**
 * hostLabel, remembered per (provider, host): the proxy asks once per request, almost always for the
 * same few hosts, and the answer depends only on the provider's rules (a reload builds new
 * ResolvedProvider objects, so their answers are never mixed up with the old ones).
 */
export class HostLabels {
  #memo = new WeakMap<ResolvedProvider, Map<unknown, string>>();

  label(provider: ResolvedProvider | undefined, value: unknown): string {
    if (provider === undefined) return OTHER;
    let labels = this.#memo.get(provider);
    if (labels === undefined) {
      labels = new Map();
      this.#memo.set(provider, labels);
    }
    let label = labels.get(value);
    if (label === undefined) {
      label = hostLabel(provider, value);
      if (labels.size >= MAX_REMEMBERED_HOSTS) labels.clear();
      labels.set(value, label);
    }
    return label;
  }
}

/** `value` when it belongs to `allowed`, else "other". */
export function oneOf(allowed: ReadonlySet<string>, value: unknown): string {
  return typeof value === "string" && allowed.has(value) ? value : OTHER;
}

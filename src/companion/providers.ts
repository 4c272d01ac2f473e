/**
 * Which providers this companion serves and which hosts each may reach, as the broker's
 * `GET /v1/providers` says. The patterns are parsed with the proxy's own parser and matched with its
 * own matcher, so the companion never opens TLS for a host the proxy would refuse, nor refuses one
 * it would allow.
 */

import { SurrogateError } from "../core/errors.ts";
import { isAllowed, parseUpstream } from "../core/provider/allowlist.ts";
import type { UpstreamRule } from "../core/provider/types.ts";

export interface CompanionProvider {
  name: string;
  kind: string;
  rules: UpstreamRule[];
}

/** At most this many providers and patterns are read from the broker's answer. */
const MAX_PROVIDERS = 256;
const MAX_UPSTREAMS = 256;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function unexpected(member: string): SurrogateError {
  return new SurrogateError("server_error", `the broker's providers answer has no valid ${member}`);
}

/** Provider names as configured, and kinds: short identifiers, nothing a terminal would interpret. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseProviders(body: unknown): CompanionProvider[] {
  const list = record(body)?.providers;
  if (!Array.isArray(list) || list.length > MAX_PROVIDERS) throw unexpected("providers");
  return list.map((entry, index) => {
    const item = record(entry);
    const name = item?.name;
    const kind = item?.kind;
    const upstreams = item?.upstreams;
    if (typeof name !== "string" || !NAME.test(name)) throw unexpected(`providers[${index}].name`);
    if (typeof kind !== "string" || !NAME.test(kind)) throw unexpected(`providers[${index}].kind`);
    if (!Array.isArray(upstreams) || upstreams.length > MAX_UPSTREAMS)
      throw unexpected(`providers[${index}].upstreams`);
    const rules = upstreams.map((pattern, at) => {
      if (typeof pattern !== "string") throw unexpected(`providers[${index}].upstreams[${at}]`);
      return parseUpstream(pattern, `the broker's providers.${name}.upstreams[${at}]`);
    });
    return { name, kind, rules };
  });
}

/**
 * Keeps the providers named with `--provider` (all the broker lists when none is named). A name the
 * broker does not list is an error now, not a 403 on every later request.
 */
export function selectProviders(listed: CompanionProvider[], wanted: readonly string[]): CompanionProvider[] {
  if (wanted.length === 0) return listed;
  return wanted.map((name) => {
    const found = listed.find((provider) => provider.name === name);
    if (found === undefined) {
      const known = listed.map((provider) => provider.name).join(", ") || "none";
      throw new SurrogateError(
        "access_denied",
        `the broker does not let this workload use provider ${name} (it may use: ${known})`,
      );
    }
    return found;
  });
}

export interface Route {
  provider: CompanionProvider;
  rule: UpstreamRule;
}

/** The first provider (in `--provider` order) whose pattern allows `host:port` over `scheme`. */
export function routeFor(
  providers: readonly CompanionProvider[],
  scheme: UpstreamRule["scheme"] | undefined,
  host: string,
  port: number | undefined,
): Route | undefined {
  for (const provider of providers) {
    const rules = scheme === undefined ? provider.rules : provider.rules.filter((r) => r.scheme === scheme);
    const rule = isAllowed(rules, host, port);
    if (rule !== undefined) return { provider, rule };
  }
  return undefined;
}

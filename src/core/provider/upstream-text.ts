import { defaultPort } from "./allowlist.ts";
import type { UpstreamRule } from "./types.ts";

/**
 * One allow-list rule written back in the `upstreams` grammar (DESIGN §7) that parseUpstream reads:
 * `host` (https on 443), `host:port`, `*.suffix`, `http://host:port`. What the broker tells an agent
 * in `GET /v1/providers`, so the agent matches targets with the very rules the proxy applies.
 */
export function formatUpstream(rule: UpstreamRule): string {
  const host = rule.wildcard ? `*.${rule.host}` : rule.host;
  if (rule.scheme === "http") return `http://${host}:${rule.port}`;
  return rule.port === defaultPort("https") ? host : `${host}:${rule.port}`;
}

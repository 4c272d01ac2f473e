/**
 * How the consent page names a provider to a person: whose sign-in Approve leads to, and which
 * hosts the agent can then reach through the proxy (the provider's allow-list, DESIGN §4.3).
 */
import type { ProviderKind } from "../../core/provider/kinds.ts";
import type { ResolvedProvider, UpstreamRule } from "../../core/provider/types.ts";

const VENDORS: Partial<Record<ProviderKind, string>> = {
  github: "GitHub",
  google: "Google",
  microsoft: "Microsoft",
  gitlab: "GitLab",
  slack: "Slack",
  atlassian: "Atlassian",
  demo: "the demo identity provider",
};

/** "GitHub", or for a generic provider its configured name and the IdP's host. */
export function signInName(provider: ResolvedProvider): string {
  const vendor = VENDORS[provider.kind];
  if (vendor !== undefined) return vendor;
  const issuer = provider.oauth?.issuer;
  const host = issuer === undefined ? undefined : URL.parse(issuer)?.host;
  return host === undefined ? `the ${provider.name} identity provider` : `${provider.name} (${host})`;
}

/** `api.github.com`, `*.example.com`, `files.corp.example:8443`, `http://127.0.0.1:8444`. */
export function upstreamLabel(rule: UpstreamRule): string {
  const host = rule.wildcard ? `*.${rule.host}` : rule.host;
  if (rule.scheme === "http") return `http://${host}:${rule.port}`;
  return rule.port === 443 ? host : `${host}:${rule.port}`;
}

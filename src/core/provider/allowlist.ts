import { ConfigError, SurrogateError } from "../errors.ts";
import { parseAuthority } from "../http/target.ts";
import type { UpstreamRule } from "./types.ts";

/**
 * Cloud instance-metadata endpoints hand out the host's own cloud credentials. No configuration can
 * make them an upstream (SSRF: the real token would be the least of the losses). Link-local
 * 169.254.0.0/16 (RFC 3927) is refused as a whole because every cloud puts something there.
 */
const METADATA_HOSTS: ReadonlySet<string> = new Set([
  "169.254.169.254",
  "169.254.170.2",
  "metadata.google.internal",
  "metadata",
  "100.100.100.200",
  "fd00:ec2::254",
]);

/** RFC 6761 §6.3 / RFC 1122 §3.2.1.3: the only hosts allowed plain http (development and tests). */
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host) || host.startsWith("169.254.");
}

function isLoopback(host: string): boolean {
  return host === "localhost" || LOOPBACK_V4.test(host);
}

export function defaultPort(scheme: UpstreamRule["scheme"]): number {
  return scheme === "https" ? 443 : 80;
}

/**
 * Parses one `upstreams` entry: `api.example.com`, `files.example.com:8443`, `*.example.com`
 * (sub-domains only, never the apex), `https://host[:port]`, or `http://host[:port]` for loopback
 * hosts only (DESIGN §7). Hosts use the same grammar as proxy targets, so an entry that could never
 * match a target is refused at start-up instead of silently never matching.
 */
export function parseUpstream(entry: string, key: string): UpstreamRule {
  const { scheme, authority } = splitScheme(entry, key);
  if (authority.includes("/")) throw new ConfigError(key, "an upstream is host[:port], without a path");
  const wildcard = authority.startsWith("*.");
  const { host, port } = parseAuthorityForConfig(wildcard ? authority.slice(2) : authority, key);
  if (isMetadataHost(host))
    throw new ConfigError(key, `${host} is a cloud metadata endpoint and is never proxied`);
  if (scheme === "http" && (wildcard || !isLoopback(host))) {
    throw new ConfigError(key, "http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8)");
  }
  // A wildcard over a single label (`*.com`) would hand the token to every domain under a TLD.
  if (wildcard && !host.includes("."))
    throw new ConfigError(key, "a wildcard needs at least two labels after *.");
  if (wildcard && /^[\d.]+$/.test(host))
    throw new ConfigError(key, "a wildcard applies to DNS names, not IP addresses");
  return { scheme, host, port: port ?? defaultPort(scheme), wildcard };
}

function splitScheme(entry: string, key: string): { scheme: UpstreamRule["scheme"]; authority: string } {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
  if (!match) return { scheme: "https", authority: entry };
  const scheme = match[1]?.toLowerCase();
  if (scheme !== "https" && scheme !== "http")
    throw new ConfigError(key, "an upstream scheme must be https or http");
  return { scheme, authority: entry.slice(match[0].length) };
}

function parseAuthorityForConfig(authority: string, key: string): ReturnType<typeof parseAuthority> {
  try {
    return parseAuthority(authority);
  } catch (error) {
    if (!(error instanceof SurrogateError)) throw error;
    throw new ConfigError(key, `invalid upstream host: ${error.message.replace(/^proxy target: /, "")}`);
  }
}

/**
 * The rule allowing `host:port`, or undefined. A target without a port matches a rule on its
 * scheme's default port. Metadata hosts are refused here too, whatever the rules say: rules may come
 * from built-in profiles or wildcards (`*.google.internal`) as well as from the configuration.
 */
export function isAllowed(
  rules: readonly UpstreamRule[],
  host: string,
  port: number | undefined,
): UpstreamRule | undefined {
  if (isMetadataHost(host)) return undefined;
  return rules.find((rule) => hostMatches(rule, host) && (port ?? defaultPort(rule.scheme)) === rule.port);
}

function hostMatches(rule: UpstreamRule, host: string): boolean {
  return rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host;
}

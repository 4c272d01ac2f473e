import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { type Cidr, parseCidr } from "../http/address.ts";
import { isTrustDomain } from "../identity/spiffe.ts";
import { parseDuration } from "./duration.ts";
import { parseListen } from "./listen.ts";
import { buildAdmin, buildAudit, buildMetrics } from "./operator.ts";
import { buildProvider } from "./provider.ts";
import type { RawConfig } from "./schema.ts";
import { isSecretRef, resolveSecretRef } from "./secret-ref.ts";
import type { Config, Env, PolicyRule, ProviderConfig } from "./types.ts";
import { checkHttpsUrl, defaultAgentPublicUrl, parseAgentPublicUrl, parseIssuer } from "./url.ts";

/** 30 days: long enough that an agent used weekly keeps its login, short enough that a lost one dies. */
const DEFAULT_REFRESH_TTL = 30 * 24 * 3600;

type Raw<K extends keyof RawConfig> = NonNullable<RawConfig[K]>;

/** Turns the schema-checked file into a Config: semantic checks, defaults, resolved paths and secrets. */
export async function buildSections(raw: RawConfig, env: Env, baseDir: string): Promise<Config> {
  const providers = await buildProviders(raw.providers ?? {}, env, baseDir);
  const issuer = parseIssuer(raw.issuer, "issuer");
  return {
    issuer,
    tokenTtl: parseDuration(raw.token_ttl ?? 3600, "token_ttl"),
    refreshTtl: parseDuration(raw.refresh_ttl ?? DEFAULT_REFRESH_TTL, "refresh_ttl"),
    web: buildWeb(raw.web ?? {}, baseDir),
    agent: buildAgent(raw.agent, issuer, baseDir),
    keys: {
      signing: keySource(raw.keys.signing, "keys.signing", baseDir, true),
      encryption: keySource(raw.keys.encryption, "keys.encryption", baseDir, false),
    },
    rendezvous: await buildRendezvous(raw.rendezvous ?? {}, env, baseDir),
    providers,
    policy: buildPolicy(raw.policy ?? [], providers),
    ...(raw.admin && { admin: await buildAdmin(raw.admin, providers, env, baseDir) }),
    ...(raw.metrics && { metrics: await buildMetrics(raw.metrics, env, baseDir) }),
    audit: buildAudit(raw.audit ?? {}),
  };
}

function buildWeb(web: Raw<"web">, baseDir: string): Config["web"] {
  if ((web.tls_cert === undefined) !== (web.tls_key === undefined)) {
    const missing = web.tls_cert === undefined ? "web.tls_cert" : "web.tls_key";
    throw new ConfigError(missing, "is required when the other of web.tls_cert/web.tls_key is set");
  }
  return {
    listen: parseListen(web.listen ?? "0.0.0.0:8080", "web.listen"),
    ...(web.tls_cert === undefined ? {} : { tlsCert: resolvePath(web.tls_cert, baseDir) }),
    ...(web.tls_key === undefined ? {} : { tlsKey: resolvePath(web.tls_key, baseDir) }),
    ...(web.trusted_proxies === undefined ? {} : { trustedProxies: web.trusted_proxies.map(trustedProxy) }),
  };
}

function trustedProxy(text: string, index: number): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    throw new ConfigError(
      `web.trusted_proxies[${index}]`,
      `${JSON.stringify(text)} is not an IP address or CIDR block`,
    );
  }
  return cidr;
}

function buildAgent(agent: Raw<"agent">, issuer: string, baseDir: string): Config["agent"] {
  const listen = parseListen(agent.listen ?? "0.0.0.0:8443", "agent.listen");
  return {
    listen,
    tlsCert: resolvePath(agent.tls_cert, baseDir),
    tlsKey: resolvePath(agent.tls_key, baseDir),
    ...trustBundles(agent, baseDir),
    ...(agent.upstream_ca === undefined ? {} : { upstreamCa: resolvePath(agent.upstream_ca, baseDir) }),
    headersTimeout: parseDuration(agent.headers_timeout ?? 10, "agent.headers_timeout"),
    idleTimeout: parseDuration(agent.idle_timeout ?? 60, "agent.idle_timeout"),
    requestTimeout: parseDuration(agent.request_timeout ?? 300, "agent.request_timeout"),
    upstreamTimeout: parseDuration(agent.upstream_timeout ?? 30, "agent.upstream_timeout"),
    maxHeaderSize: agent.max_header_size ?? 16_384,
    ...(agent.max_connections === undefined ? {} : { maxConnections: agent.max_connections }),
    ...(agent.handshake_timeout === undefined
      ? {}
      : { handshakeTimeout: parseDuration(agent.handshake_timeout, "agent.handshake_timeout") }),
    ...(agent.max_handshakes_per_address === undefined
      ? {}
      : { maxHandshakesPerAddress: agent.max_handshakes_per_address }),
    ...(agent.max_pending_handshakes === undefined
      ? {}
      : { maxPendingHandshakes: agent.max_pending_handshakes }),
    scrubResponses: agent.scrub_responses ?? true,
    maxConnectionAge: parseDuration(agent.max_connection_age ?? "1h", "agent.max_connection_age"),
    publicUrl:
      agent.public_url === undefined
        ? defaultAgentPublicUrl(issuer, listen.port)
        : parseAgentPublicUrl(agent.public_url, "agent.public_url"),
  };
}

/**
 * `client_ca` may be left out only when `[agent.trust_domains]` names the bundles: someone must
 * vouch for clients. Trust domain names follow SPIFFE-ID §2.1, and each bundle is a `file:`.
 */
function trustBundles(
  agent: Raw<"agent">,
  baseDir: string,
): Pick<Config["agent"], "clientCa" | "trustDomains"> {
  const domains = agent.trust_domains;
  if (agent.client_ca === undefined && domains === undefined) {
    throw new ConfigError("agent.client_ca", "is required unless agent.trust_domains is set");
  }
  const trustDomains: Record<string, string> = {};
  for (const [name, source] of Object.entries(domains ?? {})) {
    if (!isTrustDomain(name)) {
      throw new ConfigError(
        "agent.trust_domains",
        `${JSON.stringify(name.slice(0, 64))} is not a trust domain name (lower-case letters, digits, ".", "-", "_")`,
      );
    }
    const key = `agent.trust_domains.${JSON.stringify(name)}`;
    if (!source.startsWith("file:") || source.length === "file:".length) {
      throw new ConfigError(key, "must name its bundle file as file:/path");
    }
    trustDomains[name] = resolvePath(source.slice("file:".length), baseDir);
  }
  return {
    ...(agent.client_ca === undefined ? {} : { clientCa: resolvePath(agent.client_ca, baseDir) }),
    ...(domains === undefined ? {} : { trustDomains }),
  };
}

/**
 * Only the form of a key source is checked here; src/keys reads and validates the JWK Sets.
 * `jwks:` (a broker's published keys) can only verify, so it is accepted for signing alone.
 */
function keySource(source: string, key: string, baseDir: string, allowJwks: boolean): string {
  if (source.startsWith("file:")) {
    const path = source.slice("file:".length);
    if (path === "") throw new ConfigError(key, "file: must name a file (file:/path)");
    return `file:${resolvePath(path, baseDir)}`;
  }
  if (source.startsWith("env:") || source.startsWith("credential:")) return source;
  if (allowJwks && source.startsWith("jwks:")) {
    checkHttpsUrl(source.slice("jwks:".length), key);
    return source;
  }
  const forms = allowJwks
    ? "file:/path, env:NAME, credential:NAME or jwks:https://…"
    : "file:/path, env:NAME or credential:NAME";
  throw new ConfigError(key, `must be one of ${forms}`);
}

/**
 * A redis URL may carry a password, so it may also be given as a secret reference; it is then kept
 * as a plain string because the store needs it, and redactConfig hides its password when logging.
 */
async function buildRendezvous(
  section: Raw<"rendezvous">,
  env: Env,
  baseDir: string,
): Promise<Config["rendezvous"]> {
  const url = await rendezvousUrl(section.url ?? "memory:", env, baseDir);
  const grantTtl = parseDuration(section.grant_ttl ?? 600, "rendezvous.grant_ttl");
  const interval = parseDuration(section.interval ?? 5, "rendezvous.interval");
  if (interval >= grantTtl)
    throw new ConfigError("rendezvous.interval", "must be shorter than rendezvous.grant_ttl");
  return {
    url,
    grantTtl,
    interval,
    maxPendingPerWorkload: section.max_pending_per_workload ?? 5,
    maxPendingTotal: section.max_pending_total ?? 10_000,
    createRate: section.create_rate ?? 10,
  };
}

async function rendezvousUrl(value: string, env: Env, baseDir: string): Promise<string> {
  const key = "rendezvous.url";
  const url = isSecretRef(value) ? (await resolveSecretRef(value, env, key, { baseDir })).reveal() : value;
  if (url === "memory:") return url;
  // The URL itself is never echoed: it may contain the redis password.
  if (!URL.canParse(url)) throw new ConfigError(key, 'must be "memory:" or a redis:// or rediss:// URL');
  const parsed = new URL(url);
  if ((parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.hostname === "") {
    throw new ConfigError(key, 'must be "memory:" or a redis:// or rediss:// URL with a host');
  }
  return url;
}

async function buildProviders(
  section: Raw<"providers">,
  env: Env,
  baseDir: string,
): Promise<Record<string, ProviderConfig>> {
  const providers: Record<string, ProviderConfig> = {};
  for (const [name, raw] of Object.entries(section)) {
    providers[name] = await buildProvider(name, raw, env, baseDir);
  }
  return providers;
}

/** A policy naming a provider that does not exist is a typo that would silently grant nothing. */
function buildPolicy(rules: Raw<"policy">, providers: Record<string, ProviderConfig>): PolicyRule[] {
  return rules.map((rule, index) => {
    if (!/^[\x21-\x7E]+$/.test(rule.workload)) {
      throw new ConfigError(
        `policy[${index}].workload`,
        "must be a glob of printable characters without spaces",
      );
    }
    rule.providers.forEach((name, at) => {
      if (!Object.hasOwn(providers, name)) {
        throw new ConfigError(
          `policy[${index}].providers[${at}]`,
          `names no configured provider (${JSON.stringify(name)})`,
        );
      }
    });
    return {
      workload: rule.workload,
      providers: [...rule.providers],
      ...(rule.binding === undefined ? {} : { binding: rule.binding }),
      ...(rule.refresh_binding === undefined ? {} : { refreshBinding: rule.refresh_binding }),
    };
  });
}

function resolvePath(path: string, baseDir: string, key?: string): string {
  if (key !== undefined && path.length === 0)
    throw new ConfigError(key, "file: must name a file (file:/path)");
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

import type { Config, ProviderConfig } from "../../core/config/types.ts";
import { checkHttpsUrl } from "../../core/config/url.ts";
import { ConfigError } from "../../core/errors.ts";
import { parseUpstream } from "../../core/provider/allowlist.ts";
import { parseInjection } from "../../core/provider/inject.ts";
import type { ClientAuthMethod } from "../../core/provider/kinds.ts";
import type { Injection, ResolvedProvider, UpstreamRule } from "../../core/provider/types.ts";
import type { OAuthClientSettings } from "./oauth-client.ts";
import type { IdTokenRules } from "./oidc.ts";
import { type ProviderProfile, profileFor } from "./profiles.ts";
import type { RevocationMethod } from "./revoke.ts";

/** `routingOnly`: upstreams and injection only, no OAuth client and no discovery (proxy-only instances). */
type Deps = { fetch: typeof fetch; now: () => number; routingOnly?: boolean };

interface Endpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri?: string;
  issuer?: string;
  /** From discovery: the asymmetric algorithms the IdP signs id_tokens with. */
  idTokenAlgorithms?: string[];
  /** From discovery: the client authentication the IdP supports. */
  clientAuth?: ClientAuthMethod;
  /** From discovery (RFC 8414 §2) or the configuration: RFC 7009 revocation. */
  revocationEndpoint?: string;
  /** From discovery: the IdP promises `iss` on every authorization response (RFC 9207 §3). */
  issParameterSupported?: boolean;
}

/**
 * Merges every `[providers.NAME]` with its built-in profile (configuration wins field by field),
 * parses upstreams and injection, and runs OIDC discovery for `oidc`/`demo` at start-up. Google,
 * Microsoft and GitLab use their documented fixed endpoints instead of discovery, so start-up does
 * not depend on a third party being reachable. Any problem is a ConfigError naming the key.
 */
export async function resolveProviders(config: Config, deps: Deps): Promise<Map<string, ResolvedProvider>> {
  const resolved = new Map<string, ResolvedProvider>();
  for (const [name, provider] of Object.entries(config.providers)) {
    resolved.set(name, await resolveProvider(name, provider, config.issuer, deps));
  }
  return resolved;
}

async function resolveProvider(name: string, config: ProviderConfig, brokerIssuer: string, deps: Deps) {
  const key = `providers.${name}`;
  const profile = profileFor(config, key);
  const scopes = config.scopes ?? profile.scopes;
  const provider: ResolvedProvider = {
    name,
    kind: config.kind,
    upstreams: parseUpstreams(config.upstreams ?? profile.upstreams, `${key}.upstreams`),
    inject: parseInjection(config.inject ?? profile.inject, `${key}.inject`),
    ...gitInjection(config.gitInject ?? profile.gitInject, `${key}.git_inject`),
    scopes,
    requiredScopes: profile.requiredScopes ?? [],
    jwtAccessTokens: config.jwtAccessTokens ?? profile.jwtAccessTokens,
    oidc: isOidc(profile, scopes, `${key}.scopes`),
  };
  if (profile.endpoints === "none" || deps.routingOnly === true) return provider;
  const endpoints = await resolveEndpoints(config, profile, key, deps.fetch);
  const settings = clientSettings(name, config, profile, endpoints, brokerIssuer, provider.oidc, key);
  // Loaded only here, where an IdP is spoken to: a proxy-only process never carries arctic.
  const { createOAuthClient } = await import("./oauth-client.ts");
  return { ...provider, oauth: createOAuthClient(settings, deps) };
}

function gitInjection(template: string | undefined, key: string): { gitInject?: Injection } {
  return template === undefined ? {} : { gitInject: parseInjection(template, key) };
}

/** A provider's secrets may only travel to listed hosts; with none listed, its wrappers would be useless or worse. */
function parseUpstreams(entries: readonly string[], key: string): UpstreamRule[] {
  if (entries.length === 0) {
    throw new ConfigError(key, "must list at least one upstream host (this kind has no built-in hosts)");
  }
  return entries.map((entry, index) => parseUpstream(entry, `${key}[${index}]`));
}

/** An OIDC flow without the `openid` scope gets no id_token (OIDC Core §3.1.2.1), so login could never succeed. */
function isOidc(profile: ProviderProfile, scopes: readonly string[], key: string): boolean {
  if (profile.oidc === "never") return false;
  const openid = scopes.includes("openid");
  if (profile.oidc === "always" && !openid)
    throw new ConfigError(key, 'must include "openid" for an OpenID Connect provider');
  return openid;
}

async function resolveEndpoints(
  config: ProviderConfig,
  profile: ProviderProfile,
  key: string,
  fetchImpl: typeof fetch,
): Promise<Endpoints> {
  const base = profile.endpoints === "discovery" ? await discovered(config, key, fetchImpl) : profile;
  const authorizationEndpoint = config.authorizationEndpoint ?? base.authorizationEndpoint;
  const tokenEndpoint = config.tokenEndpoint ?? base.tokenEndpoint;
  if (authorizationEndpoint === undefined)
    throw new ConfigError(`${key}.authorization_endpoint`, "is required");
  if (tokenEndpoint === undefined) throw new ConfigError(`${key}.token_endpoint`, "is required");
  checkHttpsUrl(authorizationEndpoint, `${key}.authorization_endpoint`);
  checkHttpsUrl(tokenEndpoint, `${key}.token_endpoint`);
  const jwksUri = config.jwksUri ?? base.jwksUri;
  if (jwksUri !== undefined) checkHttpsUrl(jwksUri, `${key}.jwks_uri`);
  const issuer = config.issuer ?? base.issuer;
  const revocationEndpoint =
    config.revocationEndpoint ?? ("revocationEndpoint" in base ? base.revocationEndpoint : undefined);
  const issParameterSupported = "issParameterSupported" in base && base.issParameterSupported === true;
  return {
    authorizationEndpoint,
    tokenEndpoint,
    ...(jwksUri && { jwksUri }),
    ...(issuer && { issuer }),
    ...(revocationEndpoint && { revocationEndpoint }),
    ...("clientAuth" in base && base.clientAuth !== undefined && { clientAuth: base.clientAuth }),
    ...("idTokenAlgorithms" in base &&
      base.idTokenAlgorithms && { idTokenAlgorithms: base.idTokenAlgorithms }),
    ...(issParameterSupported && { issParameterSupported }),
  };
}

async function discovered(
  config: ProviderConfig,
  key: string,
  fetchImpl: typeof fetch,
): Promise<Partial<Endpoints>> {
  if (config.issuer === undefined)
    throw new ConfigError(`${key}.issuer`, `is required for kind "${config.kind}"`);
  const { discoverIssuer } = await import("./discovery.ts");
  return discoverIssuer(config.issuer, `${key}.issuer`, fetchImpl);
}

function clientSettings(
  name: string,
  config: ProviderConfig,
  profile: ProviderProfile,
  endpoints: Endpoints,
  brokerIssuer: string,
  oidc: boolean,
  key: string,
): OAuthClientSettings {
  if (config.clientId === undefined)
    throw new ConfigError(`${key}.client_id`, `is required for kind "${config.kind}"`);
  const { issuer, jwksUri } = endpoints;
  if (oidc && issuer === undefined)
    throw new ConfigError(`${key}.issuer`, "is required to validate id_tokens");
  if (oidc && jwksUri === undefined)
    throw new ConfigError(`${key}.jwks_uri`, "is required to validate id_tokens");
  return {
    provider: name,
    clientId: config.clientId,
    clientAuth:
      config.tokenEndpointAuthMethod ?? endpoints.clientAuth ?? profile.clientAuth ?? "client_secret_basic",
    revocation: revocationOf(
      profile,
      endpoints.revocationEndpoint,
      config.clientId,
      `${key}.revocation_endpoint`,
    ),
    ...(config.clientSecret && { clientSecret: config.clientSecret }),
    redirectUri: `${brokerIssuer}/callback`,
    authorizationEndpoint: endpoints.authorizationEndpoint,
    tokenEndpoint: endpoints.tokenEndpoint,
    authorizationParams: profile.authorizationParams,
    ...(profile.scopeParam && { scopeParam: profile.scopeParam }),
    ...(profile.scopeSeparator && { scopeSeparator: profile.scopeSeparator }),
    ...(profile.tokenShape && { tokenShape: profile.tokenShape }),
    ...(oidc &&
      issuer &&
      jwksUri && { idToken: idTokenRules(name, config.clientId, profile, endpoints, { issuer, jwksUri }) }),
    // RFC 9207 §2.4: only a fixed issuer string can be compared with the response's `iss`.
    ...(issuer && !issuer.includes("{tenantid}") && { issuer }),
    // RFC 9207 §2.4: an IdP that promised `iss` must send it, or a mix-up goes unnoticed.
    ...(issuer &&
      !issuer.includes("{tenantid}") &&
      endpoints.issParameterSupported === true && { requireIss: true }),
  };
}

/**
 * A profile's own revocation style, at the configured endpoint when the operator set one; otherwise
 * RFC 7009 wherever discovery or the configuration names an endpoint (RFC 8414 §2), else none.
 */
function revocationOf(
  profile: ProviderProfile,
  configured: string | undefined,
  clientId: string,
  key: string,
): RevocationMethod {
  const own = profile.revocation;
  if (own === undefined || own.style === "none") {
    if (configured !== undefined) return { style: "rfc7009", endpoint: configured, authenticate: true };
    return own ?? { style: "none", reason: "no revocation_endpoint was discovered or configured" };
  }
  const endpoint = (configured ?? own.endpoint).replaceAll("{client_id}", encodeURIComponent(clientId));
  checkHttpsUrl(endpoint, key);
  return { ...own, endpoint };
}

function idTokenRules(
  name: string,
  clientId: string,
  profile: ProviderProfile,
  endpoints: Endpoints,
  known: { issuer: string; jwksUri: string },
): IdTokenRules {
  return {
    provider: name,
    clientId,
    ...known,
    ...(profile.issuerAliases && { issuerAliases: profile.issuerAliases }),
    ...(endpoints.idTokenAlgorithms && { algorithms: endpoints.idTokenAlgorithms }),
  };
}

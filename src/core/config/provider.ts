import { ConfigError } from "../errors.ts";
import {
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  PROVIDER_KINDS,
  type ProviderKind,
} from "../provider/kinds.ts";
import { definedOnly } from "./defined.ts";
import type { RawProvider } from "./schema.ts";
import { resolveSecretRef } from "./secret-ref.ts";
import type { Env, ProviderConfig } from "./types.ts";
import { checkHttpsUrl } from "./url.ts";

export const PROVIDER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

const URL_KEYS = [
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "revocation_endpoint",
  "jwks_uri",
  "base_url",
] as const;

/** What each kind cannot work without; profiles (src/providers) supply the rest. */
const REQUIRED_BY_KIND: Partial<Record<ProviderKind, readonly (keyof RawProvider)[]>> = {
  oidc: ["issuer"],
  oauth2: ["authorization_endpoint", "token_endpoint"],
  static: ["upstreams"],
};

/** Validates one `[providers.NAME]` table and resolves its client secret. */
export async function buildProvider(
  name: string,
  raw: RawProvider,
  env: Env,
  baseDir: string,
): Promise<ProviderConfig> {
  const prefix = `providers.${name}`;
  const kind = checkProvider(name, raw, prefix);
  const clientSecret =
    raw.client_secret === undefined
      ? undefined
      : await resolveSecretRef(raw.client_secret, env, `${prefix}.client_secret`, { baseDir });
  return {
    name,
    kind,
    ...definedOnly({
      clientId: raw.client_id,
      clientSecret,
      scopes: raw.scopes,
      upstreams: raw.upstreams,
      inject: raw.inject,
      gitInject: raw.git_inject,
      issuer: raw.issuer,
      authorizationEndpoint: raw.authorization_endpoint,
      tokenEndpoint: raw.token_endpoint,
      revocationEndpoint: raw.revocation_endpoint,
      tokenEndpointAuthMethod: parseClientAuth(
        raw.token_endpoint_auth_method,
        `${prefix}.token_endpoint_auth_method`,
      ),
      jwksUri: raw.jwks_uri,
      tenant: raw.tenant,
      baseUrl: raw.base_url,
      jwtAccessTokens: raw.jwt_access_tokens,
    }),
  };
}

/** The name, kind, required keys, URLs and scope tokens of one table; returns its kind. */
function checkProvider(name: string, raw: RawProvider, prefix: string): ProviderKind {
  if (!PROVIDER_NAME.test(name)) {
    throw new ConfigError(
      `providers.${JSON.stringify(name.slice(0, 64))}`,
      `name must match ${PROVIDER_NAME.source}`,
    );
  }
  const kind = parseKind(raw.kind, `${prefix}.kind`);
  checkRequired(raw, kind, prefix);
  for (const key of URL_KEYS) {
    const value = raw[key];
    if (value !== undefined) checkHttpsUrl(value, `${prefix}.${key}`);
  }
  raw.scopes?.forEach((scope, index) => {
    if (!SCOPE_TOKEN.test(scope))
      throw new ConfigError(`${prefix}.scopes[${index}]`, "is not a valid scope token");
  });
  return kind;
}

function parseClientAuth(method: string | undefined, key: string): ClientAuthMethod | undefined {
  if (method === undefined) return undefined;
  const known = CLIENT_AUTH_METHODS.find((candidate) => candidate === method);
  if (known === undefined) {
    throw new ConfigError(key, `must be one of: ${CLIENT_AUTH_METHODS.join(", ")}`);
  }
  return known;
}

function parseKind(kind: string, key: string): ProviderKind {
  const known = PROVIDER_KINDS.find((candidate) => candidate === kind);
  if (known === undefined) {
    throw new ConfigError(
      key,
      `unknown kind ${JSON.stringify(kind)}; expected one of: ${PROVIDER_KINDS.join(", ")}`,
    );
  }
  return known;
}

/**
 * OAuth kinds need a client registration; `static` has none (its wrappers come from `surrogate seal`),
 * so a client secret there is a misplaced secret and is refused rather than silently ignored.
 */
function checkRequired(raw: RawProvider, kind: ProviderKind, prefix: string): void {
  if (kind === "static") {
    for (const key of ["client_id", "client_secret", "token_endpoint_auth_method"] as const) {
      if (raw[key] !== undefined) throw new ConfigError(`${prefix}.${key}`, 'is not used by kind "static"');
    }
  } else {
    for (const key of ["client_id", "client_secret"] as const) {
      if (raw[key] === undefined) throw new ConfigError(`${prefix}.${key}`, `is required for kind "${kind}"`);
    }
  }
  for (const key of REQUIRED_BY_KIND[kind] ?? []) {
    if (raw[key] === undefined) throw new ConfigError(`${prefix}.${key}`, `is required for kind "${kind}"`);
  }
}

/**
 * The operator sections: `[admin]`, `[metrics]`, `[audit]`. All optional; absent `[admin]` keeps the
 * admin UI closed (404), absent `[metrics]` leaves `/metrics` open like most exporters.
 */
import { ConfigError } from "../errors.ts";
import { Secret } from "../secret.ts";
import { parseDuration } from "./duration.ts";
import type { RawConfig } from "./schema.ts";
import { resolveSecretRef } from "./secret-ref.ts";
import type { AdminConfig, AuditConfig, Env, ProviderConfig } from "./types.ts";

type Raw<K extends keyof RawConfig> = NonNullable<RawConfig[K]>;

/** An email address or `sub:<subject>`: what an OIDC id_token can prove about a person. */
const ALLOW_ENTRY = /^(?:sub:[\x21-\x7e]{1,255}|[^\s@]{1,64}@[^\s@]{1,255})$/;
/** Kinds whose login yields a validated id_token (sub, email) to compare against `allow`. */
const OIDC_KINDS: ReadonlySet<string> = new Set(["oidc", "google", "microsoft", "gitlab", "demo"]);

export async function buildAdmin(
  raw: Raw<"admin">,
  providers: Record<string, ProviderConfig>,
  env: Env,
  baseDir: string,
): Promise<AdminConfig> {
  if (raw.password === undefined && raw.provider === undefined && raw.api_token === undefined) {
    throw new ConfigError(
      "admin",
      "needs password, provider or api_token (or remove [admin] to keep the UI and API closed)",
    );
  }
  const allow = raw.allow ?? [];
  allow.forEach((entry, index) => {
    if (!ALLOW_ENTRY.test(entry))
      throw new ConfigError(`admin.allow[${index}]`, "must be an email address or sub:<subject>");
  });
  const admin: AdminConfig = {
    allow: [...allow],
    sessionIdle: parseDuration(raw.session_idle ?? "15m", "admin.session_idle"),
  };
  if (raw.provider !== undefined) {
    admin.provider = checkAdminProvider(raw.provider, providers);
    // An empty allow-list with a provider would let every account of that IdP in.
    if (allow.length === 0)
      throw new ConfigError("admin.allow", "must list who may sign in through admin.provider");
  }
  if (raw.password !== undefined) {
    admin.passwordHash = await resolveSecretRef(raw.password, env, "admin.password", { baseDir });
    if (!HASH_FORMATS.test(admin.passwordHash.reveal())) {
      throw new ConfigError(
        "admin.password",
        "must reference a password hash ($argon2id$… from `surrogate admin hash-password`, or bcrypt $2y$/$2b$/$2a$ from htpasswd), not a password",
      );
    }
  }
  if (raw.api_token !== undefined) admin.apiToken = await apiToken(raw.api_token, env, baseDir);
  return admin;
}

/** 128 bits at least, like every other credential here: the API can cut off any agent. */
const MIN_API_TOKEN_LENGTH = 32;

async function apiToken(ref: string, env: Env, baseDir: string) {
  const token = await resolveSecretRef(ref, env, "admin.api_token", { baseDir });
  const text = token.reveal().trim();
  if (text.length < MIN_API_TOKEN_LENGTH || !/^[!-~]+$/.test(text)) {
    throw new ConfigError(
      "admin.api_token",
      `must be at least ${MIN_API_TOKEN_LENGTH} printable characters without spaces (e.g. openssl rand -base64 32)`,
    );
  }
  return new Secret(text);
}

function checkAdminProvider(name: string, providers: Record<string, ProviderConfig>): string {
  const provider = providers[name];
  if (provider === undefined || !Object.hasOwn(providers, name))
    throw new ConfigError("admin.provider", "names no configured provider");
  if (
    !OIDC_KINDS.has(provider.kind) ||
    (provider.scopes !== undefined && !provider.scopes.includes("openid"))
  ) {
    throw new ConfigError(
      "admin.provider",
      "must be an OpenID Connect provider (its id_token names the admin)",
    );
  }
  return name;
}

/**
 * What Bun.password.verify checks: argon2 (PHC string) and bcrypt, including htpasswd's `$2y$`
 * (the same algorithm as `$2b$`). Anything else could never match, so it stops start-up instead of
 * failing every login.
 */
const HASH_FORMATS = /^(?:\$argon2(?:id|i|d)\$|\$2[aby]\$\d\d\$)/;

export async function buildMetrics(raw: Raw<"metrics">, env: Env, baseDir: string) {
  return raw.bearer === undefined
    ? {}
    : { bearer: await resolveSecretRef(raw.bearer, env, "metrics.bearer", { baseDir }) };
}

export function buildAudit(raw: Raw<"audit">): AuditConfig {
  return { proxyRequests: raw.proxy_requests ?? "all", sampleRate: raw.sample_rate ?? 0.1 };
}

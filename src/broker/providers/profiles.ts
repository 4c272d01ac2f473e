import type { ProviderConfig } from "../../core/config/types.ts";
import { checkHttpsUrl } from "../../core/config/url.ts";
import { ConfigError } from "../../core/errors.ts";
import type { ClientAuthMethod, ProviderKind } from "../../core/provider/kinds.ts";
import type { RevocationMethod } from "./revoke.ts";
import type { TokenShape } from "./token-response.ts";

/**
 * What a built-in profile knows about an identity provider before configuration overrides it.
 * `endpoints` says where the OAuth endpoints come from: fixed URLs of a public service, OpenID
 * discovery from the configured `issuer`, the configuration alone (`oauth2`), or nowhere (`static`).
 */
export interface ProviderProfile {
  endpoints: "fixed" | "discovery" | "config" | "none";
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  jwksUri?: string;
  /** Expected id_token `iss`. `{tenantid}` stands for the token's own `tid` (Entra multi-tenant). */
  issuer?: string;
  /** Other spellings of `issuer` the vendor documents as valid `iss` values. */
  issuerAliases?: string[];
  scopes: string[];
  /** Scopes every login needs whatever the agent asks, e.g. `offline_access` for a refresh token. */
  requiredScopes?: string[];
  upstreams: string[];
  inject: string;
  /** For git's smart-HTTP requests: git sends HTTP Basic, with the token as password. */
  gitInject?: string;
  jwtAccessTokens: boolean;
  /** Whether the flow is OpenID Connect: a `nonce` is sent and a valid id_token required. */
  oidc: "always" | "with_openid_scope" | "never";
  /** Where and how scopes go on the authorization request (default `scope`, space-separated). */
  scopeParam?: "scope" | "user_scope";
  scopeSeparator?: " " | ",";
  /** How token responses are laid out (default rfc6749). */
  tokenShape?: TokenShape;
  /** Client authentication at the token endpoint (default client_secret_basic, RFC 6749 §2.3.1). */
  clientAuth?: ClientAuthMethod;
  /** Extra authorization-request parameters the IdP needs, typically to issue a refresh token. */
  authorizationParams: Record<string, string>;
  /**
   * How upstream tokens are revoked. Absent: RFC 7009 at the discovered or configured
   * `revocation_endpoint`, or nothing when there is none. `{client_id}` in a GitHub endpoint stands
   * for the configured client id.
   */
  revocation?: RevocationMethod;
}

const BEARER = "Authorization: Bearer {token}";
/** Entra tenants are a GUID, a verified domain, or one of the multi-tenant aliases. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The built-in profile of `config.kind`, specialised by `tenant` / `base_url` where the kind has them. */
export function profileFor(config: ProviderConfig, key: string): ProviderProfile {
  const builders: Record<ProviderKind, () => ProviderProfile> = {
    github,
    google,
    microsoft: () => microsoft(config.tenant ?? "common", `${key}.tenant`),
    gitlab: () => gitlab(config.baseUrl ?? "https://gitlab.com", `${key}.base_url`),
    slack,
    atlassian,
    oidc: discovered,
    demo: () => demo(config.issuer, `${key}.issuer`),
    oauth2: () => generic("config"),
    static: () => generic("none"),
  };
  return builders[config.kind]();
}

/**
 * GitHub OAuth apps and GitHub App user tokens. GitHub accepts `Bearer` as well as its legacy
 * `token` scheme for both; Bearer is the RFC 6750 form and what GitHub's current docs use.
 * OAuth-app tokens do not expire (no refresh token); GitHub App user tokens expire after 8 h and come
 * with a rotating refresh token. GitHub answers token-endpoint errors with HTTP 200 and an `error`
 * member, which src/broker/providers/token-response.ts treats as an error response.
 */
function github(): ProviderProfile {
  return {
    endpoints: "fixed",
    authorizationEndpoint: "https://github.com/login/oauth/authorize",
    tokenEndpoint: "https://github.com/login/oauth/access_token",
    scopes: ["read:user"],
    // github.com serves git over HTTPS; raw.githubusercontent.com is left to the operator (docs/providers.md).
    upstreams: ["api.github.com", "uploads.github.com", "github.com"],
    tokenShape: "github",
    // docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps: client_id and
    // client_secret are documented as request parameters, nothing else.
    clientAuth: "client_secret_post",
    inject: BEARER,
    // docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation:
    // git takes the token as the password of user x-access-token.
    gitInject: "Authorization: Basic {basic:x-access-token}",
    jwtAccessTokens: false,
    oidc: "never",
    authorizationParams: {},
    // docs.github.com/en/rest/apps/oauth-applications#delete-an-app-token: one token, Basic client auth.
    revocation: { style: "github", endpoint: "https://api.github.com/applications/{client_id}/token" },
  };
}

/**
 * Google issues a refresh token only with `access_type=offline`, and again on later consents only
 * with `prompt=consent`; its refresh tokens are not rotated. Access tokens are opaque.
 */
function google(): ProviderProfile {
  return {
    endpoints: "fixed",
    authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
    tokenEndpoint: "https://oauth2.googleapis.com/token",
    jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
    issuer: "https://accounts.google.com",
    // developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken: "The value of
    // iss in the ID token is equal to https://accounts.google.com or accounts.google.com."
    issuerAliases: ["accounts.google.com"],
    scopes: ["openid", "email"],
    upstreams: ["*.googleapis.com"],
    inject: BEARER,
    jwtAccessTokens: false,
    oidc: "always",
    authorizationParams: { access_type: "offline", prompt: "consent" },
    // developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke: the token alone, no
    // client credentials; revoking either token of a grant revokes the grant.
    revocation: { style: "rfc7009", endpoint: "https://oauth2.googleapis.com/revoke", authenticate: false },
  };
}

/**
 * Microsoft Entra ID (v2.0 endpoints). `offline_access` yields a rotating refresh token. Graph access
 * tokens are JWTs (their claims are copied, never trusted: Microsoft signs them for Graph only).
 * A multi-tenant alias (`common`, `organizations`, `consumers`) or a domain name does not fix the
 * issuer: tokens carry their tenant's GUID, so the issuer is checked against the token's `tid`.
 */
function microsoft(tenant: string, key: string): ProviderProfile {
  if (!TENANT.test(tenant)) throw new ConfigError(key, "must be a tenant GUID, a domain name, or common");
  const base = `https://login.microsoftonline.com/${tenant}`;
  return {
    endpoints: "fixed",
    authorizationEndpoint: `${base}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${base}/oauth2/v2.0/token`,
    jwksUri: `${base}/discovery/v2.0/keys`,
    issuer: `https://login.microsoftonline.com/${GUID.test(tenant) ? tenant : "{tenantid}"}/v2.0`,
    scopes: ["openid", "offline_access", "User.Read"],
    // learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#offline_access: no refresh token without it.
    requiredScopes: ["offline_access"],
    upstreams: ["graph.microsoft.com"],
    inject: BEARER,
    jwtAccessTokens: true,
    oidc: "always",
    authorizationParams: {},
    revocation: {
      style: "none",
      reason:
        "Microsoft Entra ID has no token revocation endpoint for applications; an administrator revokes " +
        "a user's refresh tokens (Microsoft Graph revokeSignInSessions)",
    },
  };
}

/**
 * GitLab.com or a self-hosted instance at `base_url` (which is also its OIDC issuer). Access tokens
 * expire after 2 h and come with a rotating refresh token. OIDC only when `openid` is requested.
 */
function gitlab(baseUrl: string, key: string): ProviderProfile {
  const url = checkHttpsUrl(baseUrl, key);
  const base = baseUrl.replace(/\/+$/, "");
  return {
    endpoints: "fixed",
    authorizationEndpoint: `${base}/oauth/authorize`,
    tokenEndpoint: `${base}/oauth/token`,
    jwksUri: `${base}/oauth/discovery/keys`,
    issuer: base,
    // read_repository: git clone over HTTPS (write_repository to push) — docs.gitlab.com/integration/oauth_provider.
    scopes: ["openid", "read_api", "read_repository"],
    upstreams: [url.protocol === "http:" ? `http://${url.host}` : url.host],
    inject: BEARER,
    // docs.gitlab.com/api/oauth2/#access-git-over-https-with-access-token: user oauth2, token as password.
    gitInject: "Authorization: Basic {basic:oauth2}",
    jwtAccessTokens: false,
    oidc: "with_openid_scope",
    authorizationParams: {},
    // docs.gitlab.com/api/oauth2/#revoke-a-token: RFC 7009 with the client's credentials.
    revocation: { style: "rfc7009", endpoint: `${base}/oauth/revoke`, authenticate: true },
  };
}

/**
 * Slack OAuth v2 for the person's own token ("Sign in with Slack" is a different, OIDC-only flow).
 * The scopes are user scopes, asked comma-separated in `user_scope`, and the token is the person's
 * (`authed_user.access_token`), never the app's bot token (api.slack.com/authentication/oauth-v2).
 * Tokens never expire unless the app opted into token rotation (12 h tokens and refresh tokens,
 * api.slack.com/authentication/rotation). Slack reports errors with HTTP 200 and `{"ok": false, …}`.
 */
function slack(): ProviderProfile {
  return {
    endpoints: "fixed",
    authorizationEndpoint: "https://slack.com/oauth/v2/authorize",
    tokenEndpoint: "https://slack.com/api/oauth.v2.access",
    scopes: ["channels:read"],
    scopeParam: "user_scope",
    scopeSeparator: ",",
    tokenShape: "slack",
    // files.slack.com serves url_private downloads, which need the token (api.slack.com/types/file).
    upstreams: ["slack.com", "files.slack.com"],
    inject: BEARER,
    jwtAccessTokens: false,
    oidc: "never",
    authorizationParams: {},
    revocation: { style: "slack", endpoint: "https://slack.com/api/auth.revoke" },
  };
}

/**
 * Atlassian Cloud (3LO). `audience` selects the API gateway; `offline_access` yields a rotating
 * refresh token; `prompt=consent` is what Atlassian documents for the consent screen.
 */
function atlassian(): ProviderProfile {
  return {
    endpoints: "fixed",
    authorizationEndpoint: "https://auth.atlassian.com/authorize",
    tokenEndpoint: "https://auth.atlassian.com/oauth/token",
    scopes: ["read:me", "offline_access"],
    // developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens: no refresh token without it.
    requiredScopes: ["offline_access"],
    // developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps: client_id and client_secret in the body.
    clientAuth: "client_secret_post",
    upstreams: ["api.atlassian.com"],
    inject: BEARER,
    jwtAccessTokens: false,
    oidc: "never",
    authorizationParams: { audience: "api.atlassian.com", prompt: "consent" },
    revocation: {
      style: "none",
      reason:
        "Atlassian documents no token revocation endpoint for OAuth 2.0 (3LO) apps; the person removes " +
        "the app under their Atlassian account's Connected apps",
    },
  };
}

/**
 * `demo`: the built-in IdP of `surrogate dev`, whose endpoints are known from its issuer, so a
 * broker configured for it starts even while `surrogate dev` (and with it the IdP) is not running;
 * logins work once it is. Its discovery document says the same.
 */
function demo(issuer: string | undefined, key: string): ProviderProfile {
  if (issuer === undefined) throw new ConfigError(key, 'is required for kind "demo"');
  return {
    ...generic("fixed"),
    authorizationEndpoint: `${issuer}/authorize`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    issuer,
    scopes: ["openid"],
    oidc: "always",
  };
}

/** `oidc`: everything but the upstreams comes from the issuer's discovery document. */
function discovered(): ProviderProfile {
  return { ...generic("discovery"), scopes: ["openid"], oidc: "always" };
}

/** `oauth2` (endpoints from the configuration) and `static` (no OAuth at all). */
function generic(endpoints: ProviderProfile["endpoints"]): ProviderProfile {
  return {
    endpoints,
    scopes: [],
    upstreams: [],
    inject: BEARER,
    jwtAccessTokens: false,
    oidc: "never",
    authorizationParams: {},
  };
}

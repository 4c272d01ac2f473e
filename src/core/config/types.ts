import type { Cidr } from "../http/address.ts";
import type { ClientAuthMethod, ProviderKind } from "../provider/kinds.ts";
import type { Secret } from "../secret.ts";

/** Environment as read once at start-up (`Bun.env` in main, a plain object in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * A provider as written in `[providers.NAME]`, validated but not yet merged with its built-in
 * profile (src/providers resolves the profile). Secret-valued keys are already resolved.
 */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  clientId?: string;
  clientSecret?: Secret;
  scopes?: string[];
  /** Hosts the provider's wrappers may be sent to: `host`, `host:port`, `*.suffix`, or `http://host:port` (loopback only). */
  upstreams?: string[];
  /** Injection template, e.g. `Authorization: Bearer {token}` or `x-api-key: {token}`. */
  inject?: string;
  /** Injection template for git's smart-HTTP requests (profile's for github and gitlab). */
  gitInject?: string;
  /** OIDC issuer (kind `oidc`), or the IdP base URL for self-hosted profiles (gitlab). */
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** Client authentication at the token endpoint; overrides the profile's or discovery's choice. */
  tokenEndpointAuthMethod?: ClientAuthMethod;
  /** Where upstream tokens are revoked (RFC 7009, or the kind's own style); overrides the profile's or discovery's. */
  revocationEndpoint?: string;
  jwksUri?: string;
  /** Entra ID tenant (kind `microsoft`); default `common`. */
  tenant?: string;
  /** Self-hosted base URL (kind `gitlab`). */
  baseUrl?: string;
  /** Whether the provider's access tokens are JWTs whose claims are copied (profile default otherwise). */
  jwtAccessTokens?: boolean;
}

export interface PolicyRule {
  /** Glob over the workload's SPIFFE ID (or subject CN): `*` matches within a path segment, `**` across. */
  workload: string;
  providers: string[];
  /** What access wrappers bind (DESIGN §5): the certificate (`x5t#S256`, default) or its key (`jkt`). */
  binding?: "certificate" | "key";
  /** What refresh wrappers of an SVID bind: its SPIFFE ID (default) or, pinned, the certificate. */
  refreshBinding?: "certificate" | "spiffe_id";
}

export interface Config {
  /** Public URL of the web port, no trailing slash: `iss` of wrappers, redirect_uri = issuer + "/callback". */
  issuer: string;
  /** Cap on wrapper lifetime, seconds (default 3600). */
  tokenTtl: number;
  /**
   * Cap on a refresh wrapper's lifetime, seconds (default 30 days). Separate from `tokenTtl`: a refresh
   * wrapper that died with its access wrapper would force a new browser login every hour.
   */
  refreshTtl?: number;
  web: {
    listen: ListenAddress; // default 0.0.0.0:8080
    tlsCert?: string;
    tlsKey?: string;
    /** Peers whose X-Forwarded-For / Forwarded is honoured (core/http/forwarded.ts); default none. */
    trustedProxies?: Cidr[];
  };
  agent: {
    listen: ListenAddress; // default 0.0.0.0:8443
    tlsCert: string;
    tlsKey: string;
    /** Absolute path of the bundle for certificates without a SPIFFE ID (and SVIDs without `trustDomains`). */
    clientCa?: string;
    /** Trust domain name → absolute path of its bundle (PEM or SPIFFE JWK Set). */
    trustDomains?: Record<string, string>;
    upstreamCa?: string;
    /** Seconds from accept to an authenticated handshake (default: DEFAULT_HANDSHAKE in src/agent-port/server.ts). */
    handshakeTimeout?: number;
    /** Seconds; defaults: header 10, idle (keep-alive) 60, request 300, upstream 30. */
    headersTimeout: number;
    idleTimeout: number;
    requestTimeout: number;
    upstreamTimeout: number;
    /** Bytes; default 16384. */
    maxHeaderSize: number;
    /** Open connections per process (default: DEFAULT_MAX_CONNECTIONS in src/agent-port/server.ts). */
    maxConnections?: number;
    /** Unauthenticated (handshaking) connections per source address and in total (same defaults). */
    maxHandshakesPerAddress?: number;
    maxPendingHandshakes?: number;
    /** Seconds a connection may serve requests; then it closes after its current response (default 3600). */
    maxConnectionAge: number;
    /** Mask the real token in upstream responses (issue #9: echoing upstreams); default true. */
    scrubResponses?: boolean;
    /** Origin agents reach this port at, no trailing slash: the `issuer` of its RFC 8414 metadata. */
    publicUrl: string;
  };
  keys: {
    /** `file:/path`, `env:VAR`, `credential:NAME` (and `jwks:https://…` for signing on proxy-only instances). */
    signing: string;
    encryption: string;
  };
  rendezvous: {
    url: string; // default "memory:"
    /** Seconds a grant lives (default 600) and the minimum polling interval (default 5). */
    grantTtl: number;
    interval: number;
    maxPendingPerWorkload: number; // default 5
    maxPendingTotal: number; // default 10000
    /** Grant creations per minute per workload, per process (token bucket); default 10. */
    createRate?: number;
  };
  providers: Record<string, ProviderConfig>;
  policy: PolicyRule[];
  /** `[admin]`: absent means the admin UI answers 404 (never open by default). */
  admin?: AdminConfig;
  /** `[metrics]`: `/metrics` is open when `bearer` is absent. */
  metrics?: { bearer?: Secret };
  audit?: AuditConfig;
}

/** At least one of `password`, `provider` or `apiToken` is set; the UI needs one of the first two. */
export interface AdminConfig {
  /** A Bun.password hash (argon2id or bcrypt), from a secret reference. */
  passwordHash?: Secret;
  /** A configured OIDC provider people sign in with; redirect_uri = issuer + "/admin/callback". */
  provider?: string;
  /** Who may sign in through `provider`: an email (`alice@corp.example`) or `sub:<subject>`. */
  allow: string[];
  /** Seconds without a request after which a session ends (default 900). */
  sessionIdle: number;
  /** Bearer token of the admin API (`/admin/api/…`, issue #15); absent, the API answers 404. */
  apiToken?: Secret;
}

export interface AuditConfig {
  /** Which proxied requests get an audit line: all (default), errors (status ≥ 400), or sampled. */
  proxyRequests: "all" | "errors" | "sampled";
  /** Fraction of successful requests logged when `sampled` (errors are always logged); default 0.1. */
  sampleRate: number;
}

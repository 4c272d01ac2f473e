import { randomBytes } from "node:crypto";
import type { CryptoKey, JWK, JWTPayload } from "jose";
import { generateKeyPair } from "jose";
import { Secret } from "../../src/core/secret.ts";
import { type Grant, type IdpCall, OpenIdProvider } from "../../src/dev/idp.ts";
import { type IssuedCode, oauthError, s256 } from "../../src/dev/idp-protocol.ts";
import { type RevocationHost, revocationEndpoint, type StubRevocation } from "./stub-idp-revoke.ts";
import type { IssuedTokens, StubIdp, StubIdpMode, StubIdpOptions, StubIdpRequest } from "./stub-idp-types.ts";
import {
  type Issued,
  prefixOf,
  requestedScopes,
  type StubVendor,
  tokenBody,
  tokenError,
  tokenReply,
} from "./stub-idp-vendors.ts";

export type { IssuedTokens, StubIdp, StubIdpMode, StubIdpOptions, StubIdpRequest } from "./stub-idp-types.ts";
export type { StubVendor } from "./stub-idp-vendors.ts";

const SECRET_PARAMS = new Set(["client_secret", "code", "code_verifier", "refresh_token", "token"]);
const SUBJECT = "stub-user-1";
/** Tests remember everything they were issued, for as long as they run. */
const UNBOUNDED = {
  entries: Number.POSITIVE_INFINITY,
  codeMs: Number.POSITIVE_INFINITY,
  refreshMs: Number.POSITIVE_INFINITY,
};

/**
 * The tests' identity provider: the project's one OpenID Provider (src/dev/idp.ts, which
 * `surrogate dev` serves as its demo IdP) on 127.0.0.1 and an ephemeral port, with what only tests
 * need on top: it can misbehave on demand (`setMode`), records every request, and holds requests
 * (`hold`). Issued tokens carry canary prefixes (`stub-real-access-`, `stub-real-refresh-`) so tests
 * can scan logs, responses and pages for leaks; the last ones are in `lastIssued`. With `vendor` it
 * answers as that vendor documents (./stub-idp-vendors.ts, ./stub-idp-revoke.ts).
 */
export async function startStubIdp(options: StubIdpOptions = {}): Promise<StubIdp> {
  const alg = options.signingAlg ?? "ES256";
  const { key, jwk } = await OpenIdProvider.signingKey(alg, "stub-1");
  const rogue = await generateKeyPair(alg);
  const clientSecret = options.clientSecret ?? `stub-client-secret-${token()}`;
  const expiring = options.expiring ?? true;
  const config = {
    name: "stub IdP",
    clientId: options.clientId ?? "stub-client",
    clientSecret: new Secret(clientSecret),
    redirectUris: options.redirectUris,
    user: { sub: SUBJECT, email: "alice@stub.example" },
    signingAlg: alg,
    kid: "stub-1",
    accessTokenTtl: expiring ? (options.accessTokenTtl ?? 3600) : undefined,
    limits: UNBOUNDED,
    now: options.now ?? Date.now,
  };
  const idp = new FaultyIdp(config, key, jwk, options, rogue.privateKey);
  const server = idp.listen("127.0.0.1", 0);
  return {
    issuer: idp.issuer,
    clientId: config.clientId,
    clientSecret,
    subject: SUBJECT,
    requests: idp.requests,
    revocations: idp.revocations,
    lastIssued: idp.lastIssued,
    setMode: (mode) => {
      idp.mode = mode;
    },
    hold: () => idp.hold(),
    sign: (payload, header) => idp.sign(payload, header),
    authorize: async (url) => {
      const response = await fetch(url, { redirect: "manual" });
      const location = response.headers.get("location");
      if (response.status !== 303 || location === null) {
        throw new Error(
          `stub IdP refused the authorization request: ${response.status} ${await response.text()}`,
        );
      }
      return new URL(location);
    },
    close: server.stop,
  };
}

class FaultyIdp extends OpenIdProvider implements RevocationHost {
  mode: StubIdpMode = "normal";
  readonly requests: StubIdpRequest[] = [];
  readonly revocations: StubRevocation[] = [];
  readonly lastIssued: IssuedTokens = {};
  readonly #accessTokens = new Set<string>();
  #held: { arrive: () => void; released: Promise<void> } | undefined;

  constructor(
    config: ConstructorParameters<typeof OpenIdProvider>[0],
    key: CryptoKey,
    jwk: JWK,
    readonly options: StubIdpOptions,
    readonly rogueKey: CryptoKey,
  ) {
    super(config, key, jwk);
  }

  get clientId(): string {
    return this.config.clientId;
  }

  get vendor(): StubVendor {
    return this.options.vendor ?? "standard";
  }

  hold(): { arrived: Promise<void>; release: () => void } {
    const arrived = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    this.#held = { arrive: arrived.resolve, released: released.promise };
    return {
      arrived: arrived.promise,
      release: () => {
        this.#held = undefined;
        released.resolve();
      },
    };
  }

  forget(token: string): boolean {
    return this.refreshTokens.delete(token) || this.#accessTokens.delete(token);
  }

  protected override async dispatch(call: IdpCall): Promise<Response> {
    const { request, url, params } = call;
    const record: StubIdpRequest = { method: request.method, path: url.pathname, params: redact(params) };
    this.requests.push(record);
    if (this.mode === "slow") await Bun.sleep(this.options.slowMs ?? 3000);
    const held = this.#held;
    if (held !== undefined) {
      held.arrive();
      await held.released;
    }
    const revocation = revocationEndpoint(this, request, url.pathname, params, call.body);
    if (revocation !== undefined) return revocation;
    if (url.pathname === "/token" && request.method === "POST") {
      const auth = this.authenticateClient(request, params);
      record.clientAuth = auth === "invalid" ? "none" : auth;
      const required = this.requiredClientAuth();
      const fault =
        auth !== "invalid" && (required === undefined || auth === required) && this.tokenFault(params);
      if (fault) return fault;
    }
    return super.dispatch(call);
  }

  /** The token endpoint's fault modes, once the client has authenticated. */
  tokenFault(params: URLSearchParams): Response | undefined {
    if (this.mode === "token_500") return new Response("upstream exploded", { status: 500 });
    if (this.mode === "token_429") return oauthError(429, "rate_limited", "stub IdP: rate_limited");
    if (this.mode === "garbage_json") return new Response("{not json", { status: 200 });
    const grant = params.get("grant_type");
    if (this.mode === "token_error" && grant === "authorization_code")
      return tokenError(this.vendor, 400, "invalid_grant");
    if (this.mode === "refresh_refused" && grant === "refresh_token") return this.deadRefreshToken();
    return undefined;
  }

  override discovery(): Record<string, unknown> {
    const base = super.discovery();
    return {
      ...base,
      issuer: this.mode === "wrong_discovery_issuer" ? `${this.issuer}/other` : this.issuer,
      revocation_endpoint: `${this.issuer}/revoke`,
      id_token_signing_alg_values_supported:
        this.options.advertisedAlgs ?? base.id_token_signing_alg_values_supported,
      token_endpoint_auth_methods_supported: this.authMethods(),
    };
  }

  /** RFC 8414 §2, as the `clientAuth` option narrows it (`private_key_jwt`: a client surrogate cannot be). */
  authMethods(): string[] {
    const only = this.options.clientAuth;
    if (only === "private_key_jwt") return ["private_key_jwt"];
    if (only === "post") return ["client_secret_post"];
    if (only === "basic") return ["client_secret_basic"];
    return ["client_secret_basic", "client_secret_post"];
  }

  /** GitHub and Atlassian document only body credentials at their token endpoints. */
  protected override requiredClientAuth(): string | undefined {
    const bodyOnly = this.vendor === "github" || this.vendor === "atlassian";
    return this.options.clientAuth ?? (bodyOnly ? "post" : undefined);
  }

  protected override requestedScope(params: URLSearchParams) {
    const scopes = requestedScopes(this.vendor, params);
    if ("error" in scopes) return scopes;
    return { scope: scopes.scope, ...(scopes.botScope !== "" && { appScope: scopes.botScope }) };
  }

  protected override signIn(code: IssuedCode, state: string): Response {
    if (this.mode === "deny") return this.redirectBack(code.redirectUri, state, { error: "access_denied" });
    return super.signIn(code, state);
  }

  /** The verifier's RFC 7636 §4.1 length is not checked: tests use shorter ones. */
  protected override pkceMatches(verifier: string, challenge: string): boolean {
    return s256(verifier) === challenge;
  }

  protected override rotates(): boolean {
    return (this.options.rotateRefreshTokens ?? true) && this.mode !== "no_rotation";
  }

  protected override deadRefreshToken(): Response {
    // developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens: a dead refresh token
    // (expired, rotated away, revoked, password changed) is 403, not RFC 6749 §5.2's 400.
    if (this.vendor === "atlassian")
      return oauthError(403, "invalid_grant", "Unknown or invalid refresh token.");
    return tokenError(this.vendor, 400, this.vendor === "github" ? "bad_refresh_token" : "invalid_grant");
  }

  protected override async issue(scope: string, nonce: string | undefined, grant: Grant): Promise<Issued> {
    const issued = await super.issue(scope, nonce, grant);
    this.#accessTokens.add(issued.accessToken);
    this.lastIssued.accessToken = issued.accessToken;
    if (issued.refreshToken !== undefined) this.lastIssued.refreshToken = issued.refreshToken;
    if (issued.idToken !== undefined) this.lastIssued.idToken = issued.idToken;
    return issued;
  }

  /** Every code exchange gets a refresh token, a refresh only when it rotates. */
  protected override refreshFor(_scope: string, grant: Grant): boolean {
    return grant === "code" || this.rotates();
  }

  protected override idTokenFor(scope: string): boolean {
    return scope.split(" ").includes("openid");
  }

  protected override mint(kind: "code" | "access" | "refresh"): string {
    if (kind === "code") return `stub-code-${token()}`;
    const expiring = this.config.accessTokenTtl !== undefined;
    return `${prefixOf(this.vendor, kind, kind === "refresh" || expiring)}stub-real-${kind}-${token()}`;
  }

  protected override accessToken(scope: string): Promise<string> {
    if (!this.options.jwtAccessTokens) return super.accessToken(scope);
    const now = Math.floor(this.config.now() / 1000);
    const ttl = this.options.accessTokenTtl ?? 3600;
    const claims = { sub: SUBJECT, scope, client_id: this.clientId, jti: token(), iat: now, exp: now + ttl };
    return this.sign({ ...claims, iss: this.issuer, aud: "https://api.stub.example" }, { typ: "at+jwt" });
  }

  protected override idTokenClaims(nonce: string | undefined): JWTPayload {
    const claims = super.idTokenClaims(nonce);
    const now = Math.floor(this.config.now() / 1000);
    if (this.mode === "wrong_aud") claims.aud = "someone-else";
    if (this.mode === "expired_id_token") Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
    if (this.mode === "wrong_nonce" && nonce !== undefined) claims.nonce = `${nonce}-tampered`;
    return claims;
  }

  protected override idTokenKey(): CryptoKey {
    return this.mode === "bad_id_token_signature" ? this.rogueKey : super.idTokenKey();
  }

  /** Slack's bot token, when the authorization asked for bot scopes, comes with the person's. */
  protected override tokenBody(issued: Issued, grant: Grant, code?: IssuedCode): Record<string, unknown> {
    if (code?.appScope !== undefined) {
      issued.botToken = `${prefixOf(this.vendor, "bot", false)}stub-real-bot-${token()}`;
      issued.botScope = code.appScope;
    }
    return tokenBody(this.vendor, issued, grant);
  }

  protected override tokenReply(request: Request, body: Record<string, unknown>): Response {
    return this.vendor === "github"
      ? tokenReply(this.vendor, request, body)
      : super.tokenReply(request, body);
  }

  protected override tokenError(status: number, error: string, description: string): Response {
    if (this.vendor === "standard") return super.tokenError(status, error, description);
    return tokenError(this.vendor, status, error, `stub IdP: ${description}`);
  }
}

function redact(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) out[key] = SECRET_PARAMS.has(key) ? "[redacted]" : value;
  return out;
}

function token(): string {
  return randomBytes(18).toString("base64url");
}

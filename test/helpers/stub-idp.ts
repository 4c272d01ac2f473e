import { createHash, randomBytes } from "node:crypto";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
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

interface PendingCode {
  redirectUri: string;
  codeChallenge: string;
  nonce?: string;
  scope: string;
  botScope: string;
  used: boolean;
}

type Answer = (body: Record<string, unknown>) => Response;

const SECRET_PARAMS = new Set(["client_secret", "code", "code_verifier", "refresh_token", "token"]);
const SUBJECT = "stub-user-1";

/**
 * A real OAuth 2.0 / OpenID Connect provider for tests, on 127.0.0.1 and an ephemeral port. It is
 * strict where a real IdP is strict (client authentication, PKCE S256, one-time codes, redirect_uri
 * match) so tests prove the broker speaks the protocol, and it can misbehave on demand (`setMode`).
 * Issued tokens carry canary prefixes (`stub-real-access-`, `stub-real-refresh-`) so tests can scan
 * logs, responses and pages for leaks; JWT tokens are in `lastIssued`. With `vendor` it answers as
 * that vendor documents (./stub-idp-vendors.ts, ./stub-idp-revoke.ts).
 */
export async function startStubIdp(options: StubIdpOptions = {}): Promise<StubIdp> {
  const alg = options.signingAlg ?? "ES256";
  const keys = await generateKeyPair(alg, { extractable: true });
  const rogue = await generateKeyPair(alg);
  const publicJwk: JWK = { ...(await exportJWK(keys.publicKey)), kid: "stub-1", alg, use: "sig" };
  const state = new StubState(options, keys.privateKey, rogue.privateKey);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => state.handle(request, publicJwk),
  });
  state.issuer = `http://127.0.0.1:${server.port}`;
  return {
    issuer: state.issuer,
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    subject: SUBJECT,
    requests: state.requests,
    revocations: state.revocations,
    lastIssued: state.lastIssued,
    setMode: (mode) => {
      state.mode = mode;
    },
    hold: () => state.hold(),
    sign: (payload, header) => state.sign(payload, header),
    authorize: async (url) => {
      const response = await fetch(url, { redirect: "manual" });
      const location = response.headers.get("location");
      if (response.status !== 302 || location === null) {
        throw new Error(
          `stub IdP refused the authorization request: ${response.status} ${await response.text()}`,
        );
      }
      return new URL(location);
    },
    close: () => server.stop(true),
  };
}

class StubState implements RevocationHost {
  issuer = "";
  mode: StubIdpMode = "normal";
  readonly clientId: string;
  readonly clientSecret: string;
  readonly vendor: StubVendor;
  readonly requests: StubIdpRequest[] = [];
  readonly revocations: StubRevocation[] = [];
  readonly lastIssued: IssuedTokens = {};
  readonly #codes = new Map<string, PendingCode>();
  readonly #refreshTokens = new Map<string, { scope: string }>();
  readonly #accessTokens = new Set<string>();
  readonly #now: () => number;
  #held: { arrive: () => void; released: Promise<void> } | undefined;

  constructor(
    readonly options: StubIdpOptions,
    readonly key: CryptoKey,
    readonly rogueKey: CryptoKey,
  ) {
    this.clientId = options.clientId ?? "stub-client";
    this.clientSecret = options.clientSecret ?? `stub-client-secret-${token()}`;
    this.#now = options.now ?? Date.now;
    this.vendor = options.vendor ?? "standard";
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
    return this.#refreshTokens.delete(token) || this.#accessTokens.delete(token);
  }

  async handle(request: Request, jwk: JWK): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "GET" ? "" : await request.text();
    const params = request.method === "POST" ? new URLSearchParams(body) : url.searchParams;
    const record: StubIdpRequest = { method: request.method, path: url.pathname, params: redact(params) };
    this.requests.push(record);
    if (this.mode === "slow") await Bun.sleep(this.options.slowMs ?? 3000);
    const held = this.#held;
    if (held !== undefined) {
      held.arrive();
      await held.released;
    }
    const revocation = revocationEndpoint(this, request, url.pathname, params, body);
    if (revocation !== undefined) return revocation;
    switch (url.pathname) {
      case "/.well-known/openid-configuration":
        return Response.json(this.discovery());
      case "/jwks":
        return Response.json({ keys: [jwk] });
      case "/authorize":
        return this.authorizeEndpoint(params);
      case "/token":
        return request.method === "POST"
          ? this.tokenEndpoint(request, params, record)
          : oauthError(405, "invalid_request");
      default:
        return new Response("not found", { status: 404 });
    }
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.mode === "wrong_discovery_issuer" ? `${this.issuer}/other` : this.issuer,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      revocation_endpoint: `${this.issuer}/revoke`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      id_token_signing_alg_values_supported: this.options.advertisedAlgs ?? [
        this.options.signingAlg ?? "ES256",
      ],
      token_endpoint_auth_methods_supported: this.authMethods(),
      authorization_response_iss_parameter_supported: true,
      subject_types_supported: ["public"],
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

  authorizeEndpoint(params: URLSearchParams): Response {
    const redirectUri = params.get("redirect_uri") ?? "";
    if (params.get("client_id") !== this.clientId) return badRequest("unknown client_id");
    if (!this.redirectAllowed(redirectUri)) return badRequest("redirect_uri not registered");
    const target = new URL(redirectUri);
    const state = params.get("state");
    if (state !== null) target.searchParams.set("state", state);
    // RFC 9207 §2: the issuer identifier accompanies every authorization response, errors included.
    target.searchParams.set("iss", this.issuer);
    const scopes = requestedScopes(this.vendor, params);
    const problem = "error" in scopes ? scopes.error : checkAuthorizeParams(params);
    if (problem !== undefined || "error" in scopes)
      target.searchParams.set("error", problem ?? "invalid_scope");
    else if (this.mode === "deny") target.searchParams.set("error", "access_denied");
    else target.searchParams.set("code", this.newCode(params, redirectUri, scopes));
    return new Response(null, { status: 302, headers: { location: target.href } });
  }

  redirectAllowed(redirectUri: string): boolean {
    if (this.options.redirectUris !== undefined) return this.options.redirectUris.includes(redirectUri);
    return URL.canParse(redirectUri) && /^https?:$/.test(new URL(redirectUri).protocol);
  }

  newCode(params: URLSearchParams, redirectUri: string, scopes: { scope: string; botScope: string }): string {
    const code = `stub-code-${token()}`;
    const nonce = params.get("nonce") ?? undefined;
    this.#codes.set(code, {
      redirectUri,
      codeChallenge: params.get("code_challenge") ?? "",
      ...scopes,
      used: false,
      ...(nonce === undefined ? {} : { nonce }),
    });
    return code;
  }

  async tokenEndpoint(request: Request, params: URLSearchParams, record: StubIdpRequest): Promise<Response> {
    const auth = this.authenticateClient(request, params);
    record.clientAuth = auth === "invalid" ? "none" : auth;
    // GitHub and Atlassian document only body credentials at their token endpoints.
    const bodyOnly = this.vendor === "github" || this.vendor === "atlassian";
    const required = this.options.clientAuth ?? (bodyOnly ? "post" : undefined);
    if (auth === "invalid" || (required !== undefined && auth !== required))
      return tokenError(this.vendor, 401, "invalid_client");
    if (this.mode === "token_500") return new Response("upstream exploded", { status: 500 });
    if (this.mode === "token_429") return oauthError(429, "rate_limited");
    if (this.mode === "garbage_json") return new Response("{not json", { status: 200 });
    const grant = params.get("grant_type");
    const answer = (body: Record<string, unknown>) => tokenReply(this.vendor, request, body);
    if (grant === "authorization_code") return this.codeGrant(params, answer);
    if (grant === "refresh_token") return this.refreshGrant(params, answer);
    return tokenError(this.vendor, 400, "unsupported_grant_type");
  }

  /** RFC 6749 §2.3.1: Basic (form-urlencoded parts) or body credentials, never both. */
  authenticateClient(request: Request, params: URLSearchParams): "basic" | "post" | "invalid" {
    const header = request.headers.get("authorization");
    const hasPost = params.has("client_secret");
    if (header !== null && hasPost) return "invalid";
    if (header?.startsWith("Basic ")) {
      const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
      const [id = "", secret = ""] = decoded.split(":", 2).map((part) => decodeURIComponent(part));
      return id === this.clientId && secret === this.clientSecret ? "basic" : "invalid";
    }
    const ok = params.get("client_id") === this.clientId && params.get("client_secret") === this.clientSecret;
    return hasPost && ok ? "post" : "invalid";
  }

  async codeGrant(params: URLSearchParams, answer: Answer): Promise<Response> {
    const refuse = () => tokenError(this.vendor, 400, "invalid_grant");
    if (this.mode === "token_error") return refuse();
    const pending = this.#codes.get(params.get("code") ?? "");
    if (pending === undefined || pending.used) return refuse();
    pending.used = true;
    if (params.get("redirect_uri") !== pending.redirectUri) return refuse();
    if (s256(params.get("code_verifier") ?? "") !== pending.codeChallenge) return refuse();
    const issued = await this.issue(pending.scope, pending.nonce, true);
    if (pending.botScope !== "") {
      issued.botToken = `${prefixOf(this.vendor, "bot", false)}stub-real-bot-${token()}`;
      issued.botScope = pending.botScope;
    }
    return answer(tokenBody(this.vendor, issued, "code"));
  }

  async refreshGrant(params: URLSearchParams, answer: Answer): Promise<Response> {
    const presented = params.get("refresh_token") ?? "";
    const known = this.#refreshTokens.get(presented);
    if (this.mode === "refresh_refused" || known === undefined) {
      // developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens: a dead refresh token
      // (expired, rotated away, revoked, password changed) is 403, not RFC 6749 §5.2's 400.
      if (this.vendor === "atlassian")
        return oauthError(403, "invalid_grant", "Unknown or invalid refresh token.");
      return tokenError(this.vendor, 400, this.vendor === "github" ? "bad_refresh_token" : "invalid_grant");
    }
    const rotate = (this.options.rotateRefreshTokens ?? true) && this.mode !== "no_rotation";
    if (rotate) this.#refreshTokens.delete(presented);
    return answer(tokenBody(this.vendor, await this.issue(known.scope, undefined, rotate), "refresh"));
  }

  /** Mints the tokens of one grant; the vendor lays them out (./stub-idp-vendors.ts). */
  async issue(scope: string, nonce: string | undefined, newRefresh: boolean): Promise<Issued> {
    const expiring = this.options.expiring ?? true;
    const ttl = this.options.accessTokenTtl ?? 3600;
    const accessToken = this.options.jwtAccessTokens
      ? await this.accessJwt(scope, ttl)
      : `${prefixOf(this.vendor, "access", expiring)}stub-real-access-${token()}`;
    const issued: Issued = { accessToken, scope, ...(expiring && { expiresIn: ttl }) };
    this.lastIssued.accessToken = accessToken;
    this.#accessTokens.add(accessToken);
    if (newRefresh && expiring) {
      const refreshToken = `${prefixOf(this.vendor, "refresh", true)}stub-real-refresh-${token()}`;
      this.#refreshTokens.set(refreshToken, { scope });
      issued.refreshToken = this.lastIssued.refreshToken = refreshToken;
    }
    if (scope.split(" ").includes("openid"))
      issued.idToken = this.lastIssued.idToken = await this.idToken(nonce);
    return issued;
  }

  accessJwt(scope: string, ttl: number): Promise<string> {
    const now = Math.floor(this.#now() / 1000);
    const claims = { sub: SUBJECT, scope, client_id: this.clientId, jti: token(), iat: now, exp: now + ttl };
    return this.sign({ ...claims, iss: this.issuer, aud: "https://api.stub.example" }, { typ: "at+jwt" });
  }

  idToken(nonce: string | undefined): Promise<string> {
    const now = Math.floor(this.#now() / 1000);
    const expired = this.mode === "expired_id_token";
    const payload: JWTPayload = {
      iss: this.issuer,
      sub: SUBJECT,
      aud: this.mode === "wrong_aud" ? "someone-else" : this.clientId,
      azp: this.clientId,
      email: "alice@stub.example",
      email_verified: true,
      iat: expired ? now - 7200 : now,
      exp: expired ? now - 3600 : now + 600,
    };
    if (nonce !== undefined) payload.nonce = this.mode === "wrong_nonce" ? `${nonce}-tampered` : nonce;
    return this.sign(payload, {}, this.mode === "bad_id_token_signature" ? this.rogueKey : this.key);
  }

  sign(payload: JWTPayload, header: { alg?: string; kid?: string; typ?: string } = {}, key = this.key) {
    const protectedHeader = {
      alg: header.alg ?? this.options.signingAlg ?? "ES256",
      kid: header.kid ?? "stub-1",
      ...(header.typ ? { typ: header.typ } : {}),
    };
    return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key);
  }
}

/** Authorization request checks of RFC 6749 §4.1.1 and RFC 7636 §4.3 (plain is refused). */
function checkAuthorizeParams(params: URLSearchParams): string | undefined {
  if (params.get("response_type") !== "code") return "unsupported_response_type";
  if (params.get("code_challenge_method") !== "S256" || !params.get("code_challenge"))
    return "invalid_request";
  if (!params.get("state")) return "invalid_request";
  const openid = (params.get("scope") ?? "").split(" ").includes("openid");
  if (openid && !params.get("nonce")) return "invalid_request";
  return undefined;
}

function redact(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) out[key] = SECRET_PARAMS.has(key) ? "[redacted]" : value;
  return out;
}

function oauthError(status: number, error: string, description = `stub IdP: ${error}`): Response {
  return Response.json({ error, error_description: description }, { status });
}

function badRequest(message: string): Response {
  return new Response(message, { status: 400 });
}

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

function token(): string {
  return randomBytes(18).toString("base64url");
}

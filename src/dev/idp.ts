import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { constantTimeEqual, type Secret } from "../core/secret.ts";
import { htmlResponse, messagePage } from "./idp-page.ts";
import {
  decodeBasic,
  type Issued,
  type IssuedCode,
  oauthError,
  random,
  registered,
  s256,
  single,
  standardTokenBody,
} from "./idp-protocol.ts";
import { TtlMap } from "./ttl-map.ts";

/**
 * The one OpenID Provider of the project: `surrogate dev`'s demo IdP (./demo-idp.ts adds its
 * sign-in page) and, extended with fault modes and vendor shapes, the tests' stub IdP
 * (test/helpers/stub-idp.ts). One client, one user, keys generated at start and kept in memory.
 * It is strict where a real IdP is (registered redirect_uri, PKCE S256, single-use codes, rotating
 * refresh tokens, client authentication) so that what talks to it exercises the real protocol.
 * Subclasses change behaviour through the protected methods; the routes, code and token issuing,
 * id_token signing and the JWKS live here only.
 */

export type SigningAlg = "ES256" | "ES384" | "RS256" | "RS384" | "RS512" | "PS384";

export interface IdpConfig {
  /** Names the IdP in error descriptions. */
  name: string;
  clientId: string;
  clientSecret: Secret;
  /** Registered redirect URIs (a loopback one on any port); undefined: any http(s) URI. */
  redirectUris: readonly string[] | undefined;
  /** The one person this IdP knows. */
  user: { sub: string; email: string };
  signingAlg: SigningAlg;
  kid: string;
  /** Access token lifetime, seconds; undefined: tokens without `expires_in` and no refresh token. */
  accessTokenTtl: number | undefined;
  /** Bounds on what a client can make the IdP remember (entries) and for how long (ms). */
  limits: { entries: number; codeMs: number; refreshMs: number };
  now: () => number;
}

/** One request as the routes see it: the body read once, parameters from the form or the query. */
export interface IdpCall {
  request: Request;
  url: URL;
  body: string;
  params: URLSearchParams;
}

export type Grant = "code" | "refresh";

const ID_TOKEN_TTL_S = 600;
/** Longest single query or form value accepted; real clients' values are far shorter. */
const MAX_PARAM = 2048;
/** RFC 7636 §4.2: an S256 challenge is a 43-character base64url SHA-256. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export class OpenIdProvider {
  issuer = "";
  readonly codes: TtlMap<IssuedCode>;
  readonly refreshTokens: TtlMap<{ scope: string }>;

  constructor(
    readonly config: IdpConfig,
    protected readonly signingKey: CryptoKey,
    readonly jwk: JWK,
  ) {
    const { entries, codeMs, refreshMs } = config.limits;
    this.codes = new TtlMap(codeMs, entries, config.now);
    this.refreshTokens = new TtlMap(refreshMs, entries, config.now);
  }

  /** A fresh signing key and its public JWK (private parts never leave the process). */
  static async signingKey(alg: SigningAlg, kid: string): Promise<{ key: CryptoKey; jwk: JWK }> {
    const keys = await generateKeyPair(alg, { extractable: true });
    return { key: keys.privateKey, jwk: { ...(await exportJWK(keys.publicKey)), kid, alg, use: "sig" } };
  }

  /** Listens on `host:port` (0: a free port) and fixes the issuer to the address it got. */
  listen(host: string, port: number): { port: number; stop: () => Promise<void> } {
    const server = Bun.serve({
      hostname: host,
      port,
      maxRequestBodySize: 64 * 1024,
      fetch: (request) => this.handle(request),
    });
    const bound = server.port ?? port;
    this.issuer = `http://${host}:${bound}`;
    return { port: bound, stop: () => server.stop(true) };
  }

  async handle(request: Request): Promise<Response> {
    try {
      const url = new URL(request.url);
      const body = request.method === "GET" ? "" : await request.text();
      const params = request.method === "POST" ? new URLSearchParams(body) : url.searchParams;
      return await this.dispatch({ request, url, body, params });
    } catch {
      return this.error(500, "server_error", "internal error");
    }
  }

  protected dispatch(call: IdpCall): Response | Promise<Response> {
    const method = call.request.method;
    switch (call.url.pathname) {
      case "/.well-known/openid-configuration":
        return Response.json(this.discovery());
      case "/jwks":
        return Response.json({ keys: [this.jwk] });
      case "/authorize":
        if (method === "GET") return this.authorize(call.params);
        return htmlResponse(messagePage("Method not allowed", "Use GET."), 405);
      case "/token":
        if (method === "POST") return this.token(call);
        return this.error(405, "invalid_request", "use POST");
      default:
        return htmlResponse(messagePage("Not found", `This ${this.config.name} has no such page.`), 404);
    }
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      id_token_signing_alg_values_supported: [this.config.signingAlg],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      scopes_supported: ["openid", "email", "offline_access"],
      subject_types_supported: ["public"],
      authorization_response_iss_parameter_supported: true,
    };
  }

  /**
   * RFC 6749 §4.1.2.1: with an unknown client or a redirect_uri that is not registered, the person is
   * told and NOT redirected (that would make the IdP an open redirector). Every other problem goes
   * back to the client as an error response.
   */
  authorize(params: URLSearchParams): Response {
    const redirectUri = single(params, "redirect_uri");
    if (single(params, "client_id") !== this.config.clientId || !this.redirectAllowed(redirectUri)) {
      return htmlResponse(
        messagePage("Unknown client", "The client_id or redirect_uri is not registered."),
        400,
      );
    }
    const state = single(params, "state");
    const problem = checkAuthorizeParams(params);
    if (problem !== undefined || state === undefined)
      return this.redirectBack(redirectUri, state, {
        error: "invalid_request",
        error_description: problem ?? "state is required",
      });
    const scopes = this.requestedScope(params);
    if ("error" in scopes) return this.redirectBack(redirectUri, state, { error: scopes.error });
    const nonce = single(params, "nonce");
    const code: IssuedCode = {
      redirectUri,
      codeChallenge: single(params, "code_challenge") ?? "",
      ...scopes,
      ...(nonce === undefined ? {} : { nonce }),
    };
    return this.signIn(code, state);
  }

  protected redirectAllowed(given: string | undefined): given is string {
    if (given === undefined) return false;
    const uris = this.config.redirectUris;
    if (uris === undefined) return URL.canParse(given) && /^https?:$/.test(new URL(given).protocol);
    return uris.some((uri) => registered(given, uri));
  }

  /** The scope the request asks for, or the error the client is sent back with. */
  protected requestedScope(
    params: URLSearchParams,
  ): { scope: string; appScope?: string } | { error: string } {
    return { scope: single(params, "scope") ?? "" };
  }

  /** Where the person would sign in; here they are signed in at once (the demo shows a page). */
  protected signIn(code: IssuedCode, state: string): Response {
    return this.approve(code, state);
  }

  protected approve(code: IssuedCode, state: string): Response {
    const value = this.mint("code");
    this.codes.set(value, code);
    return this.redirectBack(code.redirectUri, state, { code: value });
  }

  /** 303 turns a POST into a GET (RFC 9110 §15.4.4); `iss` on every response, errors included (RFC 9207 §2). */
  protected redirectBack(
    redirectUri: string,
    state: string | undefined,
    result: Record<string, string>,
  ): Response {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(result)) target.searchParams.set(name, value);
    if (state !== undefined) target.searchParams.set("state", state);
    target.searchParams.set("iss", this.issuer);
    return new Response(null, {
      status: 303,
      headers: { location: target.href, "cache-control": "no-store" },
    });
  }

  /** POST /token: client authentication, then the authorization_code or refresh_token grant. */
  protected async token(call: IdpCall): Promise<Response> {
    const auth = this.authenticateClient(call.request, call.params);
    const required = this.requiredClientAuth();
    if (auth === "invalid" || (required !== undefined && auth !== required))
      return this.tokenError(401, "invalid_client", "client authentication failed");
    const grant = single(call.params, "grant_type");
    if (grant === "authorization_code") return this.codeGrant(call);
    if (grant === "refresh_token") return this.refreshGrant(call);
    return this.tokenError(
      400,
      "unsupported_grant_type",
      "grant_type must be authorization_code or refresh_token",
    );
  }

  /** The one client authentication method the token endpoint insists on; undefined: either. */
  protected requiredClientAuth(): string | undefined {
    return undefined;
  }

  /**
   * RFC 6749 §2.3.1: HTTP Basic or both in the body, never both methods at once (§2.3: one method
   * per request). The secret is compared in constant time so response timing does not reveal how
   * much of a guess was right.
   */
  authenticateClient(request: Request, params: URLSearchParams): "basic" | "post" | "invalid" {
    const header = request.headers.get("authorization");
    const fromBody = params.has("client_secret");
    if (header !== null && fromBody) return "invalid";
    let presented: { id: string; secret: string } | undefined;
    if (header?.startsWith("Basic ")) presented = decodeBasic(header.slice(6));
    else if (fromBody)
      presented = { id: single(params, "client_id") ?? "", secret: single(params, "client_secret") ?? "" };
    if (presented === undefined) return "invalid";
    const idOk = presented.id === this.config.clientId;
    const secretOk = this.config.clientSecret.equals(presented.secret);
    if (!idOk || !secretOk) return "invalid";
    return header === null ? "post" : "basic";
  }

  protected async codeGrant(call: IdpCall): Promise<Response> {
    const params = call.params;
    // Taken (deleted) before any check: a code is single-use even when the attempt fails (§4.1.2).
    const issued = this.codes.take(single(params, "code") ?? "");
    if (issued === undefined) return this.tokenError(400, "invalid_grant", "unknown, expired or used code");
    if (single(params, "redirect_uri") !== issued.redirectUri)
      return this.tokenError(400, "invalid_grant", "redirect_uri differs from the authorization request");
    if (!this.pkceMatches(single(params, "code_verifier") ?? "", issued.codeChallenge))
      return this.tokenError(400, "invalid_grant", "PKCE verification failed");
    const tokens = await this.issue(issued.scope, issued.nonce, "code");
    return this.tokenReply(call.request, this.tokenBody(tokens, "code", issued));
  }

  /** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the code_challenge. */
  protected pkceMatches(verifier: string, challenge: string): boolean {
    return CODE_VERIFIER.test(verifier) && constantTimeEqual(s256(verifier), challenge);
  }

  /** Refresh tokens rotate (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): the presented one dies. */
  protected async refreshGrant(call: IdpCall): Promise<Response> {
    const presented = single(call.params, "refresh_token") ?? "";
    const rotate = this.rotates();
    const known = rotate ? this.refreshTokens.take(presented) : this.refreshTokens.get(presented);
    if (known === undefined) return this.deadRefreshToken();
    const tokens = await this.issue(known.scope, undefined, "refresh");
    return this.tokenReply(call.request, this.tokenBody(tokens, "refresh"));
  }

  protected rotates(): boolean {
    return true;
  }

  protected deadRefreshToken(): Response {
    return this.tokenError(400, "invalid_grant", "unknown, expired or used refresh token");
  }

  /** Mints the tokens of one grant. */
  protected async issue(scope: string, nonce: string | undefined, grant: Grant): Promise<Issued> {
    const ttl = this.config.accessTokenTtl;
    const issued: Issued = { accessToken: await this.accessToken(scope), scope };
    if (ttl !== undefined) issued.expiresIn = ttl;
    if (ttl !== undefined && this.refreshFor(scope, grant)) {
      issued.refreshToken = this.mint("refresh");
      this.refreshTokens.set(issued.refreshToken, { scope });
    }
    if (this.idTokenFor(scope, nonce)) issued.idToken = await this.idToken(nonce);
    return issued;
  }

  /** OIDC Core §11: a refresh token only when offline access was asked for. */
  protected refreshFor(scope: string, _grant: Grant): boolean {
    return scope.split(" ").includes("offline_access");
  }

  /** An id_token only at the code exchange, where the nonce is known (OIDC Core §3.1.3.3, §12.2). */
  protected idTokenFor(scope: string, nonce: string | undefined): boolean {
    return scope.split(" ").includes("openid") && nonce !== undefined;
  }

  protected accessToken(_scope: string): Promise<string> {
    return Promise.resolve(this.mint("access"));
  }

  /** A new opaque code or token, labelled with what it is (the stub labels its own). */
  protected mint(kind: "code" | "access" | "refresh"): string {
    return `demo-${kind}-${random()}`;
  }

  protected idToken(nonce: string | undefined): Promise<string> {
    return this.sign(this.idTokenClaims(nonce), { typ: "JWT" }, this.idTokenKey());
  }

  protected idTokenClaims(nonce: string | undefined): JWTPayload {
    const now = Math.floor(this.config.now() / 1000);
    const { clientId, user } = this.config;
    return {
      iss: this.issuer,
      sub: user.sub,
      aud: clientId,
      azp: clientId,
      email: user.email,
      email_verified: true,
      iat: now,
      exp: now + ID_TOKEN_TTL_S,
      ...(nonce === undefined ? {} : { nonce }),
    };
  }

  protected idTokenKey(): CryptoKey {
    return this.signingKey;
  }

  /** Signs claims with the published key (or `key`), as the id_token is. */
  sign(
    payload: JWTPayload,
    header: { alg?: string; kid?: string; typ?: string } = {},
    key = this.signingKey,
  ) {
    const protectedHeader = {
      alg: header.alg ?? this.config.signingAlg,
      kid: header.kid ?? this.config.kid,
      ...(header.typ ? { typ: header.typ } : {}),
    };
    return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key);
  }

  protected tokenBody(issued: Issued, _grant: Grant, _code?: IssuedCode): Record<string, unknown> {
    return standardTokenBody(issued);
  }

  /** RFC 6749 §5.1: token responses must not be cached. */
  protected tokenReply(_request: Request, body: Record<string, unknown>): Response {
    return Response.json(body, { headers: { "cache-control": "no-store", pragma: "no-cache" } });
  }

  protected tokenError(status: number, error: string, description: string): Response {
    const response = this.error(status, error, description);
    // RFC 6749 §5.2: a 401 names the authentication scheme the client should use.
    if (status === 401) response.headers.set("www-authenticate", 'Basic realm="surrogate-demo-idp"');
    return response;
  }

  protected error(status: number, error: string, description: string): Response {
    return oauthError(status, error, `${this.config.name}: ${description}`);
  }
}

/** RFC 6749 §4.1.1, RFC 7636 §4.3 (S256 only: `plain` would put the verifier in the URL). */
function checkAuthorizeParams(params: URLSearchParams): string | undefined {
  for (const [name, value] of params) if (value.length > MAX_PARAM) return `${name} is too long`;
  if (single(params, "response_type") !== "code") return "response_type must be code";
  if (single(params, "code_challenge_method") !== "S256")
    return "PKCE with code_challenge_method=S256 is required";
  if (!CHALLENGE.test(single(params, "code_challenge") ?? ""))
    return "code_challenge is not an S256 challenge";
  const openid = (single(params, "scope") ?? "").split(" ").includes("openid");
  // OIDC Core §3.1.2.1 makes nonce optional for the code flow; this IdP insists, as surrogate always sends one.
  if (openid && single(params, "nonce") === undefined) return "nonce is required with scope openid";
  return undefined;
}

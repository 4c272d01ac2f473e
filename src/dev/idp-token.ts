import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { constantTimeEqual, type Secret } from "../core/secret.ts";
import {
  decodeBasic,
  type Issued,
  type IssuedCode,
  oauthError,
  random,
  s256,
  single,
  standardTokenBody,
} from "./idp-protocol.ts";
import { TtlMap } from "./ttl-map.ts";

/**
 * The back channel of the one OpenID Provider (./idp.ts): its keys, the token endpoint with client
 * authentication, the two grants, and the tokens they mint, id_token signed with the key the JWKS
 * publishes. Subclasses change behaviour through the protected methods.
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
/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export class TokenIssuer {
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

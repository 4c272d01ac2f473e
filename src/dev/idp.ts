import { htmlResponse, messagePage } from "./idp-page.ts";
import { type IssuedCode, registered, single } from "./idp-protocol.ts";
import { type IdpCall, TokenIssuer } from "./idp-token.ts";

export type { Grant, IdpCall, IdpConfig, SigningAlg } from "./idp-token.ts";

/**
 * The one OpenID Provider of the project: `surrogate dev`'s demo IdP (./demo-idp.ts adds its
 * sign-in page) and, extended with fault modes and vendor shapes, the tests' stub IdP
 * (test/helpers/stub-idp.ts). One client, one user, keys generated at start and kept in memory.
 * It is strict where a real IdP is (registered redirect_uri, PKCE S256, single-use codes, rotating
 * refresh tokens, client authentication) so that what talks to it exercises the real protocol.
 * This file is its front channel (routes, discovery, JWKS, authorization endpoint); ./idp-token.ts
 * its back channel (token endpoint, code and token issuing, id_token signing). Subclasses change
 * behaviour through the protected methods, never by answering a route of their own the same way.
 */

/** Longest single query or form value accepted; real clients' values are far shorter. */
const MAX_PARAM = 2048;
/** RFC 7636 §4.2: an S256 challenge is a 43-character base64url SHA-256. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export class OpenIdProvider extends TokenIssuer {
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

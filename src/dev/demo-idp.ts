import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { Secret } from "../core/secret.ts";
import { DEMO_LABEL, htmlResponse, messagePage, signInPage } from "./demo-idp-page.ts";
import {
  DEMO_EMAIL,
  type DemoIdpContext,
  type IssuedCode,
  oauthError,
  random,
  single,
  tokenEndpoint,
} from "./demo-idp-token.ts";
import { TtlMap } from "./ttl-map.ts";

/**
 * `surrogate dev`'s built-in OpenID Provider: one user, one client, no password, keys generated at
 * start and kept in memory. It is strict where a real IdP is (exact redirect_uri, PKCE S256,
 * single-use codes, rotating refresh tokens, client secret) so the demo exercises the real broker
 * code paths, and it labels itself on every page as a demo. Loopback only.
 */

export interface DemoIdpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  clientId: string;
  clientSecret: Secret;
  /** The one registered redirect_uri (the broker's issuer + "/callback"), compared exactly. */
  redirectUri: string;
  now?: () => number;
}

export interface DemoIdp {
  issuer: string;
  port: number;
  stop(): Promise<void>;
}

interface PendingRequest {
  redirectUri: string;
  state: string;
  code: IssuedCode;
}

const LIMITS = { entries: 1000, requestMs: 600_000, codeMs: 60_000, refreshMs: 86_400_000 };
/** Longest single query or form value accepted; the broker's values are far shorter. */
const MAX_PARAM = 2048;
/** RFC 7636 §4.2: an S256 challenge is a 43-character base64url SHA-256. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const now = options.now ?? Date.now;
  const keys = await generateKeyPair("ES256", { extractable: true });
  const kid = `demo-${random().slice(0, 8)}`;
  const jwk: JWK = { ...(await exportJWK(keys.publicKey)), kid, alg: "ES256", use: "sig" };
  let issuer = "";
  const context: DemoIdpContext = {
    issuer: () => issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    codes: new TtlMap(LIMITS.codeMs, LIMITS.entries, now),
    refreshTokens: new TtlMap(LIMITS.refreshMs, LIMITS.entries, now),
    signingKey: keys.privateKey,
    kid,
    now,
  };
  const pending = new TtlMap<PendingRequest>(LIMITS.requestMs, LIMITS.entries, now);
  const routes = (request: Request) => route(request, { context, pending, jwk, options });
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    maxRequestBodySize: 64 * 1024,
    fetch: (request) => routes(request).catch(() => oauthError(500, "server_error", "internal error")),
  });
  const port = server.port ?? options.port;
  issuer = `http://${options.host}:${port}`;
  return { issuer, port, stop: () => server.stop(true) };
}

interface Deps {
  context: DemoIdpContext;
  pending: TtlMap<PendingRequest>;
  jwk: JWK;
  options: DemoIdpOptions;
}

async function route(request: Request, deps: Deps): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method;
  switch (url.pathname) {
    case "/":
      return htmlResponse(messagePage(DEMO_LABEL, "Used by `surrogate dev`; nothing to do here."), 200);
    case "/.well-known/openid-configuration":
      return Response.json(discovery(deps.context));
    case "/jwks":
      return Response.json({ keys: [deps.jwk] });
    case "/authorize":
      if (method === "GET") return authorizeGet(url.searchParams, deps);
      if (method === "POST") return authorizePost(new URLSearchParams(await request.text()), deps);
      return htmlResponse(messagePage("Method not allowed", "Use GET or POST."), 405);
    case "/token":
      return tokenEndpoint(request, deps.context);
    default:
      return htmlResponse(messagePage("Not found", "This demo IdP has no such page."), 404);
  }
}

/**
 * The registered redirect_uri, compared exactly, except that its loopback port may differ (RFC 8252
 * §7.3): a copy of the dev configuration on other ports is the same client on the same machine.
 */
function registered(given: string | undefined, redirectUri: string): given is string {
  if (given === undefined) return false;
  if (given === redirectUri) return true;
  const [a, b] = [URL.parse(given), URL.parse(redirectUri)];
  if (a === null || b === null || b.hostname !== "127.0.0.1" || b.search !== "") return false;
  // Only the port may differ, and only in the canonical spelling (no userinfo, query or fragment).
  return given === `http://127.0.0.1:${a.port}${b.pathname}` && a.port !== "";
}

function discovery(context: DemoIdpContext): Record<string, unknown> {
  const issuer = context.issuer();
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    id_token_signing_alg_values_supported: ["ES256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    scopes_supported: ["openid", "email", "offline_access"],
    subject_types_supported: ["public"],
    authorization_response_iss_parameter_supported: true,
  };
}

/**
 * RFC 6749 §4.1.2.1: with an unknown client or a redirect_uri that is not the registered one, the
 * user is told and NOT redirected (that would make the IdP an open redirector). Every other problem
 * goes back to the client as an error response.
 */
function authorizeGet(params: URLSearchParams, deps: Deps): Response {
  const redirectUri = single(params, "redirect_uri");
  if (
    single(params, "client_id") !== deps.options.clientId ||
    !registered(redirectUri, deps.options.redirectUri)
  ) {
    return htmlResponse(
      messagePage("Unknown client", "The client_id or redirect_uri is not registered."),
      400,
    );
  }
  const state = single(params, "state");
  const problem = checkAuthorizeParams(params);
  if (problem !== undefined || state === undefined)
    return redirectBack(redirectUri, state, deps, {
      error: "invalid_request",
      error_description: problem ?? "state is required",
    });
  const requestId = random();
  const nonce = single(params, "nonce");
  const scope = single(params, "scope") ?? "";
  deps.pending.set(requestId, {
    redirectUri,
    state,
    code: {
      redirectUri,
      codeChallenge: single(params, "code_challenge") ?? "",
      scope,
      ...(nonce === undefined ? {} : { nonce }),
    },
  });
  const view = { requestId, clientId: deps.options.clientId, scope, email: DEMO_EMAIL };
  return htmlResponse(signInPage(view), 200, [new URL(redirectUri).origin]);
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
  // OIDC Core §3.1.2.1 makes nonce optional for the code flow; the demo insists, as surrogate always sends one.
  if (openid && single(params, "nonce") === undefined) return "nonce is required with scope openid";
  return undefined;
}

function authorizePost(params: URLSearchParams, deps: Deps): Response {
  const request = deps.pending.take(single(params, "request") ?? "");
  if (request === undefined) {
    return htmlResponse(
      messagePage(
        "Sign-in expired",
        "This sign-in request expired or was already used. Start again from the consent page.",
      ),
      400,
    );
  }
  if (single(params, "decision") !== "approve") {
    return redirectBack(request.redirectUri, request.state, deps, {
      error: "access_denied",
      error_description: "the user cancelled",
    });
  }
  const code = `demo-code-${random()}`;
  deps.context.codes.set(code, request.code);
  return redirectBack(request.redirectUri, request.state, deps, { code });
}

/** 303 turns the POST into a GET (RFC 9110 §15.4.4); `iss` on every response, errors included (RFC 9207 §2). */
function redirectBack(
  redirectUri: string,
  state: string | undefined,
  deps: Deps,
  result: Record<string, string>,
): Response {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(result)) target.searchParams.set(name, value);
  if (state !== undefined) target.searchParams.set("state", state);
  target.searchParams.set("iss", deps.context.issuer());
  return new Response(null, { status: 303, headers: { location: target.href, "cache-control": "no-store" } });
}

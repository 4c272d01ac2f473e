import type { Secret } from "../core/secret.ts";
import { type IdpCall, OpenIdProvider } from "./idp.ts";
import { DEMO_LABEL, htmlResponse, messagePage, signInPage } from "./idp-page.ts";
import { type IssuedCode, random, single } from "./idp-protocol.ts";
import { TtlMap } from "./ttl-map.ts";

/**
 * `surrogate dev`'s identity provider: the one IdP (./idp.ts) with a sign-in page in front of the
 * code, so a person clicks "Sign in" as in real life. It labels itself on every page as a demo.
 * Loopback only.
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

/** The one user the demo IdP knows. */
export const DEMO_USER = { sub: "demo-user", email: "demo@example.com" };

const LIMITS = { entries: 1000, requestMs: 600_000, codeMs: 60_000, refreshMs: 86_400_000 };

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const now = options.now ?? Date.now;
  const kid = `demo-${random().slice(0, 8)}`;
  const { key, jwk } = await OpenIdProvider.signingKey("ES256", kid);
  const config = {
    name: "demo IdP",
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUris: [options.redirectUri],
    user: DEMO_USER,
    signingAlg: "ES256" as const,
    kid,
    accessTokenTtl: 3600,
    limits: LIMITS,
    now,
  };
  const idp = new DemoSignIn(config, key, jwk);
  const server = idp.listen(options.host, options.port);
  return { issuer: idp.issuer, port: server.port, stop: server.stop };
}

interface PendingRequest {
  state: string;
  code: IssuedCode;
}

class DemoSignIn extends OpenIdProvider {
  readonly #pending = new TtlMap<PendingRequest>(LIMITS.requestMs, LIMITS.entries, this.config.now);

  protected override dispatch(call: IdpCall): Response | Promise<Response> {
    const path = call.url.pathname;
    if (path === "/")
      return htmlResponse(messagePage(DEMO_LABEL, "Used by `surrogate dev`; nothing to do here."), 200);
    if (path === "/authorize" && call.request.method === "POST") return this.decide(call.params);
    return super.dispatch(call);
  }

  /** The sign-in page; its form posts the person's decision back with the request's opaque id. */
  protected override signIn(code: IssuedCode, state: string): Response {
    const requestId = random();
    this.#pending.set(requestId, { state, code });
    const { clientId, user } = this.config;
    const view = { requestId, clientId, scope: code.scope, email: user.email };
    return htmlResponse(signInPage(view), 200, [new URL(code.redirectUri).origin]);
  }

  decide(params: URLSearchParams): Response {
    const request = this.#pending.take(single(params, "request") ?? "");
    if (request === undefined) {
      const message = "This sign-in request expired or was already used. Start again from the consent page.";
      return htmlResponse(messagePage("Sign-in expired", message), 400);
    }
    if (single(params, "decision") !== "approve") {
      return this.redirectBack(request.code.redirectUri, request.state, {
        error: "access_denied",
        error_description: "the user cancelled",
      });
    }
    return this.approve(request.code, request.state);
  }
}

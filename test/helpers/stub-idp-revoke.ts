/**
 * The stub IdP's revocation endpoints, each shaped like the vendor documents it:
 * - `POST /revoke` (also at GitLab's path `/oauth/revoke`): RFC 7009 §2, as GitLab and generic OIDC
 *   providers (through discovery's `revocation_endpoint`) serve it. Client
 *   credentials, when sent, must be right (§2.1); an unknown token still gets 200 (§2.2). With
 *   `vendor: "google"` it is Google's `oauth2.googleapis.com/revoke`: no client authentication, and
 *   400 `invalid_token` for a token that is not (or no longer) valid.
 * - `POST /api/auth.revoke`: Slack, the token as the Bearer credential, HTTP 200 with
 *   `{"ok": true, "revoked": true}` or `{"ok": false, "error": "invalid_auth"}`.
 * - `DELETE /applications/{client_id}/token`: GitHub, Basic client credentials and a JSON
 *   `access_token`; 204 No Content, GitHub's `404 Not Found` body for wrong credentials or tokens,
 *   422 in mode `revoke_refused`.
 * Every call is recorded in `revocations` with the token as received, so tests can check that the
 * right token travelled with the right client authentication.
 */

export interface StubRevocation {
  path: string;
  /** The token presented, verbatim (tests compare it with what the stub issued). */
  token: string;
  hint?: string;
  clientAuth: "basic" | "post" | "bearer" | "none" | "invalid";
}

/** What the revocation endpoints need from the stub IdP. */
export interface RevocationHost {
  clientId: string;
  mode: string;
  vendor: string;
  revocations: StubRevocation[];
  /** Client authentication as at /token: Basic or body credentials, never both. */
  authenticateClient(request: Request, params: URLSearchParams): "basic" | "post" | "invalid";
  /** Forgets an issued token (access or refresh); false when it was not live. */
  forget(token: string): boolean;
}

export function revocationEndpoint(
  host: RevocationHost,
  request: Request,
  path: string,
  params: URLSearchParams,
  body: string,
): Response | undefined {
  if ((path === "/revoke" || path === "/oauth/revoke") && request.method === "POST")
    return rfc7009(host, request, path, params);
  if (path === "/api/auth.revoke" && request.method === "POST") return slack(host, request, params);
  if (path === `/applications/${host.clientId}/token` && request.method === "DELETE")
    return github(host, request, body);
  return undefined;
}

function rfc7009(host: RevocationHost, request: Request, path: string, params: URLSearchParams): Response {
  const sent = request.headers.has("authorization") || params.has("client_secret");
  const clientAuth = sent ? host.authenticateClient(request, params) : "none";
  const token = params.get("token") ?? "";
  const hint = params.get("token_type_hint") ?? undefined;
  host.revocations.push({ path, token, clientAuth, ...(hint !== undefined && { hint }) });
  if (host.mode === "revoke_unavailable") return new Response("try later", { status: 503 });
  if (clientAuth === "invalid") return oauthError(401, "invalid_client");
  if (host.mode === "revoke_unsupported_type") return oauthError(400, "unsupported_token_type");
  if (token === "") return oauthError(400, "invalid_request");
  const live = host.forget(token);
  if (host.vendor === "google" && !live) return oauthError(400, "invalid_token", "Token expired or revoked");
  return Response.json({});
}

function slack(host: RevocationHost, request: Request, params: URLSearchParams): Response {
  const header = request.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : (params.get("token") ?? "");
  host.revocations.push({ path: "/api/auth.revoke", token, clientAuth: header === "" ? "none" : "bearer" });
  if (token === "") return Response.json({ ok: false, error: "not_authed" });
  if (!host.forget(token)) return Response.json({ ok: false, error: "invalid_auth" });
  return Response.json({ ok: true, revoked: true });
}

function github(host: RevocationHost, request: Request, body: string): Response {
  const auth = host.authenticateClient(request, new URLSearchParams());
  let token = "";
  try {
    const parsed = JSON.parse(body) as { access_token?: unknown };
    if (typeof parsed.access_token === "string") token = parsed.access_token;
  } catch {
    // An unreadable body is recorded with an empty token and refused below.
  }
  const path = `/applications/${host.clientId}/token`;
  host.revocations.push({ path, token, clientAuth: auth === "basic" ? "basic" : "invalid" });
  if (host.mode === "revoke_refused") {
    return Response.json({ message: "Validation Failed", documentation_url: DOCS }, { status: 422 });
  }
  if (auth !== "basic" || !host.forget(token)) {
    return Response.json({ message: "Not Found", documentation_url: DOCS }, { status: 404 });
  }
  return new Response(null, { status: 204 });
}

const DOCS = "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token";

function oauthError(status: number, error: string, description = `stub IdP: ${error}`): Response {
  return Response.json({ error, error_description: description }, { status });
}

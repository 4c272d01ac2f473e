import { type Issued as CoreIssued, standardTokenBody } from "../../src/dev/idp-protocol.ts";

/**
 * Where the stub IdP's answers depart from the RFCs to look like a vendor's, each as its own
 * documentation shows it (docs/providers.md cites the same pages):
 * - `github`: token responses with `token_type: "bearer"` and a comma-separated `scope`; OAuth App
 *   tokens without `expires_in` or refresh token, GitHub App user tokens (`expiring`) with 8 h access,
 *   a refresh token and `refresh_token_expires_in`; errors as HTTP 200 with an `error` member; a
 *   form-encoded body unless JSON is asked for (docs.github.com, "Authorizing OAuth apps" and
 *   "Refreshing user access tokens").
 * - `slack`: `user_scope` and `scope` comma-separated on the authorization request; `oauth.v2.access`
 *   answers HTTP 200 with `ok`, the bot token (if bot scopes were asked) at the top level and the
 *   person's in `authed_user`; refresh answers at the top level with `token_type: "user"`; errors as
 *   `{"ok": false, "error": …}` (api.slack.com/methods/oauth.v2.access, api.slack.com/authentication/rotation).
 * - `atlassian`: a dead refresh token is 403 `invalid_grant` (in stub-idp.ts).
 * - `google`: revocation differences (stub-idp-revoke.ts).
 */

export type StubVendor = "standard" | "google" | "atlassian" | "github" | "slack";

/** What the IdP issued for one grant, with Slack's bot token beside the person's. */
export interface Issued extends CoreIssued {
  /** Slack: the app's bot token, when bot scopes were asked for. */
  botToken?: string;
  botScope?: string;
}

/** Token prefixes the vendors document, so tests see realistic tokens (canary part kept). */
export function prefixOf(vendor: StubVendor, kind: "access" | "refresh" | "bot", expiring: boolean): string {
  if (vendor === "github") return kind === "refresh" ? "ghr_" : expiring ? "ghu_" : "gho_";
  if (vendor === "slack") {
    if (kind === "bot") return "xoxb-";
    if (kind === "refresh") return "xoxe-1-";
    return expiring ? "xoxe.xoxp-1-" : "xoxp-";
  }
  return "";
}

/** The requested scopes as the stub keeps them (space-separated), or the error the vendor answers. */
export function requestedScopes(
  vendor: StubVendor,
  params: URLSearchParams,
): { scope: string; botScope: string } | { error: string } {
  if (vendor !== "slack") return { scope: params.get("scope") ?? "", botScope: "" };
  // Slack scopes are comma-separated; a space-joined list is one unknown scope to Slack.
  const user = params.get("user_scope") ?? "";
  const bot = params.get("scope") ?? "";
  if (/\s/.test(user) || /\s/.test(bot)) return { error: "invalid_scope" };
  if (user === "" && bot === "") return { error: "invalid_scope" };
  return {
    scope: user.split(",").filter(Boolean).join(" "),
    botScope: bot.split(",").filter(Boolean).join(" "),
  };
}

export function tokenBody(
  vendor: StubVendor,
  issued: Issued,
  grant: "code" | "refresh",
): Record<string, unknown> {
  if (vendor === "github") return github(issued);
  if (vendor === "slack") return grant === "code" ? slackExchange(issued) : slackRefresh(issued);
  return standardTokenBody(issued);
}

function github(issued: Issued): Record<string, unknown> {
  return {
    access_token: issued.accessToken,
    ...(issued.expiresIn !== undefined && { expires_in: issued.expiresIn }),
    ...(issued.refreshToken !== undefined && {
      refresh_token: issued.refreshToken,
      refresh_token_expires_in: 15_897_600,
    }),
    scope: issued.scope.split(" ").filter(Boolean).join(","),
    token_type: "bearer",
  };
}

const TEAM = { team: { id: "T9TK3CUKW", name: "Stub Team" }, enterprise: null, is_enterprise_install: false };

function slackExchange(issued: Issued): Record<string, unknown> {
  const person = issued.scope === "" ? {} : { access_token: issued.accessToken, token_type: "user" };
  return {
    ok: true,
    app_id: "A0KRD7HC3",
    authed_user: {
      id: "U1234",
      ...(issued.scope !== "" && { scope: issued.scope.split(" ").join(",") }),
      ...person,
      ...(issued.refreshToken !== undefined && { refresh_token: issued.refreshToken }),
      ...(issued.expiresIn !== undefined && { expires_in: issued.expiresIn }),
    },
    ...(issued.botToken !== undefined && {
      scope: (issued.botScope ?? "").split(" ").join(","),
      token_type: "bot",
      access_token: issued.botToken,
      bot_user_id: "U0KRQLJ9H",
    }),
    ...TEAM,
  };
}

function slackRefresh(issued: Issued): Record<string, unknown> {
  return {
    ok: true,
    app_id: "A0KRD7HC3",
    authed_user: { id: "U1234" },
    scope: issued.scope.split(" ").join(","),
    token_type: "user",
    access_token: issued.accessToken,
    ...(issued.refreshToken !== undefined && { refresh_token: issued.refreshToken }),
    ...(issued.expiresIn !== undefined && { expires_in: issued.expiresIn }),
    ...TEAM,
  };
}

/** A token-endpoint error as the vendor sends it: GitHub and Slack with HTTP 200. */
export function tokenError(
  vendor: StubVendor,
  status: number,
  error: string,
  description?: string,
): Response {
  const slackCodes: Record<string, string> = {
    invalid_grant: "invalid_code",
    invalid_client: "invalid_client_id",
  };
  if (vendor === "slack") return Response.json({ ok: false, error: slackCodes[error] ?? error });
  const githubCodes: Record<string, string> = { invalid_grant: "bad_verification_code" };
  const body = { error: vendor === "github" ? (githubCodes[error] ?? error) : error };
  const described = { ...body, error_description: description ?? `stub IdP: ${error}` };
  return Response.json(described, { status: vendor === "github" ? 200 : status });
}

/** GitHub answers form-encoded unless the request accepts JSON (docs.github.com, "Authorizing OAuth apps"). */
export function tokenReply(vendor: StubVendor, request: Request, body: Record<string, unknown>): Response {
  const wantsJson = (request.headers.get("accept") ?? "").includes("application/json");
  if (vendor !== "github" || wantsJson) return Response.json(body);
  const form = new URLSearchParams(Object.entries(body).map(([key, value]) => [key, String(value)]));
  return new Response(form.toString(), { headers: { "content-type": "application/x-www-form-urlencoded" } });
}

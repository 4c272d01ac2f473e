/**
 * Upstream token revocation, per provider (docs/providers.md says which vendor documents what).
 * Best effort by contract: the broker's own revocation stands whatever the IdP answers, so every
 * path ends in a RevocationOutcome and nothing throws. Outcomes carry status codes and the IdP's
 * error codes (charset-checked), never a token or a client secret.
 */
import { IdpError } from "../../core/errors.ts";
import type { RevocationOutcome, TokenHint } from "../../core/provider/types.ts";
import type { Secret } from "../../core/secret.ts";
import {
  basicCredentials,
  type ClientCredentials,
  type IdpReply,
  type IdpTransport,
  sendToIdp,
  withClientAuth,
} from "./idp-request.ts";
import { shownCode } from "./token-response.ts";

/**
 * How a provider revokes:
 * - `rfc7009`: RFC 7009 §2.1 form POST of `token` and `token_type_hint`; `authenticate` false where
 *   the vendor documents the call without client credentials (Google).
 * - `slack`: `auth.revoke`, the token itself as the Bearer credential (api.slack.com/methods/auth.revoke).
 * - `github`: `DELETE /applications/{client_id}/token` with Basic client credentials and a JSON
 *   `access_token` (docs.github.com/en/rest/apps/oauth-applications#delete-an-app-token).
 * - `none`: the vendor offers nothing a client can call; `reason` says so.
 */
export type RevocationMethod =
  | { style: "rfc7009"; endpoint: string; authenticate: boolean }
  | { style: "slack"; endpoint: string }
  | { style: "github"; endpoint: string }
  | { style: "none"; reason: string };

export type Revoker = (token: Secret, hint: TokenHint) => Promise<RevocationOutcome>;

export function createRevoker(
  method: RevocationMethod,
  client: ClientCredentials,
  provider: string,
  transport: IdpTransport,
): Revoker {
  const where = `provider ${provider}: revocation`;
  return async (token, hint) => {
    try {
      const outcome = await revokeOnce(method, client, token, hint, where, transport);
      return outcome.outcome === "failed" ? { ...outcome, reason: `${where}: ${outcome.reason}` } : outcome;
    } catch (error) {
      // sendToIdp's only failure: no reply at all. Its message already names where.
      if (error instanceof IdpError) return { outcome: "failed", code: "idp_network", reason: error.message };
      return failed("idp_unexpected_response", `${where}: the request could not be made`);
    }
  };
}

async function revokeOnce(
  method: RevocationMethod,
  client: ClientCredentials,
  token: Secret,
  hint: TokenHint,
  where: string,
  transport: IdpTransport,
): Promise<RevocationOutcome> {
  switch (method.style) {
    case "none":
      return { outcome: "unsupported", reason: method.reason };
    case "rfc7009":
      return rfc7009(await send7009(method, client, token, hint, where, transport), hint);
    case "slack":
      if (hint !== "access_token")
        return {
          outcome: "unsupported",
          reason: "Slack's auth.revoke takes access tokens, not refresh tokens",
        };
      return slack(await sendToIdp(slackRequest(method.endpoint, token), where, transport));
    case "github":
      if (hint !== "access_token")
        return { outcome: "unsupported", reason: "GitHub revokes access tokens only, not refresh tokens" };
      return github(await sendToIdp(githubRequest(method.endpoint, client, token), where, transport));
  }
}

function send7009(
  method: Extract<RevocationMethod, { style: "rfc7009" }>,
  client: ClientCredentials,
  token: Secret,
  hint: TokenHint,
  where: string,
  transport: IdpTransport,
): Promise<IdpReply> {
  const form = new URLSearchParams({ token: token.reveal(), token_type_hint: hint });
  const request = { url: method.endpoint, method: "POST" as const, form };
  return sendToIdp(method.authenticate ? withClientAuth(request, client) : request, where, transport);
}

/**
 * RFC 7009 §2.2: 200 means revoked, and is also the answer for a token that was already invalid.
 * Google answers an already expired or revoked token with 400 `invalid_token` instead: the token is
 * dead either way, which is all a revocation is for. §2.2.1 `unsupported_token_type`: the server
 * does not revoke this kind of token.
 */
function rfc7009(reply: IdpReply, hint: TokenHint): RevocationOutcome {
  const code = reply.json?.error;
  if (reply.status === 200) return { outcome: "revoked" };
  if (reply.status === 400 && code === "invalid_token") return { outcome: "revoked" };
  if (reply.status === 400 && code === "unsupported_token_type")
    return { outcome: "unsupported", reason: `the identity provider does not revoke ${hint}s` };
  return refusal(reply);
}

function slackRequest(endpoint: string, token: Secret) {
  return {
    url: endpoint,
    method: "POST" as const,
    form: new URLSearchParams(),
    headers: { authorization: `Bearer ${token.reveal()}` },
  };
}

/**
 * Slack answers HTTP 200 with `{"ok": true, "revoked": true}`, or `{"ok": false, "error": …}`;
 * `token_revoked` means it already was. `revoked: false` happens only in Slack's test mode.
 */
function slack(reply: IdpReply): RevocationOutcome {
  const body = reply.json;
  if (reply.status === 200 && body?.ok === true && body.revoked === true) return { outcome: "revoked" };
  if (reply.status === 200 && body?.ok === false && body.error === "token_revoked")
    return { outcome: "revoked" };
  if (reply.status === 200 && body?.ok === false)
    return failed("idp_error", `auth.revoke answered ${shownCode(body.error)}`);
  return failed("idp_unexpected_response", `auth.revoke answered HTTP ${reply.status} without a usable body`);
}

function githubRequest(endpoint: string, client: ClientCredentials, token: Secret) {
  const secret = client.clientSecret?.reveal() ?? "";
  return {
    url: endpoint,
    method: "DELETE" as const,
    json: { access_token: token.reveal() },
    headers: {
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      authorization: `Basic ${basicCredentials(client.clientId, secret)}`,
    },
  };
}

/** GitHub documents 204 No Content on success and 422 when validation failed. */
function github(reply: IdpReply): RevocationOutcome {
  if (reply.status === 204) return { outcome: "revoked" };
  if (reply.status === 422) return failed("idp_error", "GitHub answered HTTP 422 (validation failed)");
  if (reply.status === 404 || reply.status === 401)
    return failed(
      "idp_error",
      `GitHub answered HTTP ${reply.status} (unknown token or wrong client credentials)`,
    );
  return failed("idp_unexpected_response", `GitHub answered HTTP ${reply.status}`);
}

function refusal(reply: IdpReply): RevocationOutcome {
  const code = reply.json?.error;
  if (reply.status >= 400 && reply.status < 500 && code !== undefined)
    return failed("idp_error", `HTTP ${reply.status} ${shownCode(code)}`);
  return failed("idp_unexpected_response", `HTTP ${reply.status} without an OAuth error`);
}

function failed(code: "idp_error" | "idp_unexpected_response", reason: string): RevocationOutcome {
  return { outcome: "failed", code, reason };
}

import { IdpError } from "../../core/errors.ts";
import type { UpstreamTokens } from "../../core/provider/types.ts";
import { Secret } from "../../core/secret.ts";

/** Tokens go into an HTTP header (src/core/provider/inject.ts): visible ASCII only, bounded. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;
const MAX_TOKEN_BYTES = 16 * 1024;
/** RFC 6749 §5.1 token_type: a short name (`Bearer`, GitHub's `bearer`, Slack's `bot`/`user`). */
const TOKEN_TYPE = /^[A-Za-z0-9_.-]{1,32}$/;
/** RFC 6749 §3.3 scope: scope-tokens separated by spaces (GitHub and Slack use commas, also printable). */
const SCOPE_TEXT = /^[\x20-\x7e]*$/;
const MAX_SCOPE_LENGTH = 4096;
/** RFC 6749 §5.2 `error` charset; anything else is not an error code we repeat. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** Ten years: a larger expires_in is a unit mistake (ms) or garbage, not a lifetime. */
const MAX_EXPIRES_IN = 315_360_000;

/**
 * How a token response is laid out. `rfc6749`: RFC 6749 §5.1. `github`: the same with a
 * comma-separated `scope` (docs.github.com, "Authorizing OAuth apps"). `slack`: `oauth.v2.access`,
 * where the person's token is in `authed_user` after a code exchange and at the top level with
 * `token_type: "user"` after a refresh, while a top-level `bot` token belongs to the app
 * (api.slack.com/methods/oauth.v2.access, api.slack.com/authentication/rotation); scopes comma-separated.
 */
export type TokenShape = "rfc6749" | "github" | "slack";

/**
 * Turns a token endpoint's JSON object (RFC 6749 §5.1) into UpstreamTokens, checking every member's
 * type: the IdP is outside our trust boundary and the values end up in headers and wrappers.
 * Some IdPs (GitHub, Slack) report errors with HTTP 200 and an `error` member: that is an error
 * response (§5.2), not tokens. Messages name the member and `where`, never a value.
 */
export function parseTokenResponse(
  data: object,
  where: string,
  shape: TokenShape = "rfc6749",
): UpstreamTokens {
  const answer = data as Record<string, unknown>;
  if (answer.error !== undefined || answer.ok === false) throw errorResponse(answer.error, where);
  const body = shape === "slack" ? slackPerson(answer, where) : answer;
  const tokens: UpstreamTokens = {
    accessToken: new Secret(token(body.access_token, "access_token", where)),
    tokenType: tokenType(body.token_type, where),
  };
  if (body.expires_in !== undefined) tokens.expiresIn = expiresIn(body.expires_in, where);
  if (body.refresh_token !== undefined)
    tokens.refreshToken = new Secret(token(body.refresh_token, "refresh_token", where));
  if (body.scope !== undefined) tokens.scope = scope(body.scope, shape, where);
  if (body.id_token !== undefined) tokens.idToken = new Secret(token(body.id_token, "id_token", where));
  return tokens;
}

/**
 * A broker acting for a person must hold the person's token. The app's bot token (granted to the
 * installation, not to whoever logged in) would let an agent act as the app, and it is never
 * accepted in the person's place.
 */
function slackPerson(body: Record<string, unknown>, where: string): Record<string, unknown> {
  const user = body.authed_user;
  if (typeof user === "object" && user !== null && "access_token" in user)
    return user as Record<string, unknown>;
  if (body.token_type === "user") return body;
  throw unexpected("holds no token of the person (only the app's bot token): ask for user scopes", where);
}

/** An IdP error response: its code is kept (it says what to do, e.g. `invalid_grant`), its description never. */
export function errorResponse(code: unknown, where: string): IdpError {
  return new IdpError("idp_error", `${where}: the identity provider answered ${shownCode(code)}`);
}

/** An IdP's error code fit to repeat in a message or audit line (RFC 6749 §5.2 charset, bounded). */
export function shownCode(code: unknown): string {
  return typeof code === "string" && ERROR_CODE.test(code) ? code : "an unrecognised error";
}

function token(value: unknown, member: string, where: string): string {
  if (typeof value !== "string" || value === "")
    throw unexpected(`${member} is missing or not a string`, where);
  if (Buffer.byteLength(value) > MAX_TOKEN_BYTES) throw unexpected(`${member} is longer than 16 KiB`, where);
  if (!TOKEN_TEXT.test(value))
    throw unexpected(`${member} contains characters not allowed in a header`, where);
  return value;
}

function tokenType(value: unknown, where: string): string {
  if (typeof value !== "string" || !TOKEN_TYPE.test(value))
    throw unexpected("token_type is missing or malformed", where);
  // RFC 6749 §5.1: token_type is case-insensitive; the wrapper carries the canonical spelling.
  return value.toLowerCase() === "bearer" ? "Bearer" : value;
}

function expiresIn(value: unknown, where: string): number {
  const seconds = typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 1 || seconds > MAX_EXPIRES_IN) {
    throw unexpected("expires_in is not a positive number of seconds", where);
  }
  return Math.floor(seconds);
}

/** The granted scope, space-separated as RFC 6749 §3.3 has it whatever the vendor's separator. */
function scope(value: unknown, shape: TokenShape, where: string): string {
  if (typeof value !== "string" || value.length > MAX_SCOPE_LENGTH || !SCOPE_TEXT.test(value)) {
    throw unexpected("scope is not a printable string", where);
  }
  return shape === "rfc6749"
    ? value
    : value
        .split(",")
        .filter((part) => part !== "")
        .join(" ");
}

function unexpected(problem: string, where: string): IdpError {
  return new IdpError("idp_unexpected_response", `${where}: token response ${problem}`);
}

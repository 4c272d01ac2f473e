import { IdpError } from "../../core/errors.ts";
import type { UpstreamTokens } from "../../core/provider/types.ts";
import { Secret } from "../../core/secret.ts";

/** Tokens go into an HTTP header (src/core/provider/inject.ts): visible ASCII only, bounded. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;
const MAX_TOKEN_BYTES = 16 * 1024;
/** RFC 6749 §5.1 token_type: a short name (`Bearer`, GitHub's `bearer`, Slack's `bot`/`user`). */
const TOKEN_TYPE = /^[A-Za-z0-9_.-]{1,32}$/;
/** RFC 6749 §3.3 scope: scope-tokens separated by spaces (GitHub uses commas, also printable). */
const SCOPE_TEXT = /^[\x20-\x7e]*$/;
const MAX_SCOPE_LENGTH = 4096;
/** RFC 6749 §5.2 `error` charset; anything else is not an error code we repeat. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** Ten years: a larger expires_in is a unit mistake (ms) or garbage, not a lifetime. */
const MAX_EXPIRES_IN = 315_360_000;

/**
 * Turns a token endpoint's JSON object (RFC 6749 §5.1) into UpstreamTokens, checking every member's
 * type: the IdP is outside our trust boundary and the values end up in headers and wrappers.
 * Some IdPs (GitHub, Slack) report errors with HTTP 200 and an `error` member: that is an error
 * response (§5.2), not tokens. Messages name the member and `where`, never a value.
 */
export function parseTokenResponse(data: object, where: string): UpstreamTokens {
  const body = data as Record<string, unknown>;
  if (body.error !== undefined || body.ok === false) throw errorResponse(body.error, where);
  const tokens: UpstreamTokens = {
    accessToken: new Secret(token(body.access_token, "access_token", where)),
    tokenType: tokenType(body.token_type, where),
  };
  if (body.expires_in !== undefined) tokens.expiresIn = expiresIn(body.expires_in, where);
  if (body.refresh_token !== undefined)
    tokens.refreshToken = new Secret(token(body.refresh_token, "refresh_token", where));
  if (body.scope !== undefined) tokens.scope = scope(body.scope, where);
  if (body.id_token !== undefined) tokens.idToken = new Secret(token(body.id_token, "id_token", where));
  return tokens;
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

function scope(value: unknown, where: string): string {
  if (typeof value !== "string" || value.length > MAX_SCOPE_LENGTH || !SCOPE_TEXT.test(value)) {
    throw unexpected("scope is not a printable string", where);
  }
  return value;
}

function unexpected(problem: string, where: string): IdpError {
  return new IdpError("idp_unexpected_response", `${where}: token response ${problem}`);
}

/**
 * Responses of the agent API in OAuth's shape (RFC 6749 §5.1/§5.2, RFC 8628 §3.5). Every one of
 * them carries `Cache-Control: no-store` and `Pragma: no-cache`: RFC 6749 §5.1 requires it for
 * responses holding tokens, and applying it to errors and grant responses (device codes) too
 * means no cache ever holds anything from this API.
 */
import { type ErrorCode, SurrogateError } from "../core/errors.ts";

/** Each agent-API error code (one of ErrorCode) with its HTTP status; the codes are this table's keys. */
const STATUS = {
  invalid_request: 400,
  // RFC 6749 §5.2: a client_id naming no client (here: no configured provider), or a client whose
  // authentication no longer holds (its certificate expired on a kept-alive connection).
  invalid_client: 401,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  // 400 at the token endpoint (RFC 8628 §3.5); grant creation refused by policy passes 403.
  access_denied: 400,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  rate_limited: 429,
  server_error: 500,
  temporarily_unavailable: 503,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type OAuthErrorCode = keyof typeof STATUS;

function isOAuthErrorCode(code: ErrorCode): code is OAuthErrorCode {
  return Object.hasOwn(STATUS, code);
}

function headers(extra?: Record<string, string>): Headers {
  return new Headers({
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    pragma: "no-cache",
    ...extra,
  });
}

/** RFC 6749 §5.2 limits error_description to %x20-21 / %x23-5B / %x5D-7E: no quotes, backslashes or control characters. */
function describe(description: string): string {
  return description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?").slice(0, 300);
}

export function jsonResponse(body: unknown, status = 200, extra?: Record<string, string>): Response {
  return jsonTextResponse(JSON.stringify(body), status, extra);
}

/** For a body serialised earlier (the token response the rendezvous store kept for the agent). */
export function jsonTextResponse(json: string, status = 200, extra?: Record<string, string>): Response {
  return new Response(json, { status, headers: headers(extra) });
}

export interface ErrorOptions {
  /** Overrides the default status (403 for a policy refusal, 413 for an oversized body …). */
  status?: number;
  /** Seconds; sent as Retry-After (RFC 9110 §10.2.3) with 429 and 503. */
  retryAfter?: number;
  /** Further headers, e.g. `allow` with a 405. */
  headers?: Record<string, string>;
}

export function oauthError(code: OAuthErrorCode, description: string, options: ErrorOptions = {}): Response {
  const extra: Record<string, string> = { ...options.headers };
  if (options.retryAfter !== undefined) extra["retry-after"] = String(options.retryAfter);
  const body = { error: code, error_description: describe(description) };
  return jsonResponse(body, options.status ?? STATUS[code], extra);
}

/**
 * Any thrown value → an OAuth error. Codes outside the OAuth vocabulary, and anything that is not
 * a SurrogateError, become a 500 `server_error` whose text says nothing about the cause: an
 * unexpected error's message is not known to be free of secrets.
 */
export function errorResponse(error: unknown, options: ErrorOptions = {}): Response {
  if (!(error instanceof SurrogateError)) return oauthError("server_error", "internal error", options);
  if (error.code === "payload_too_large")
    return oauthError("invalid_request", error.message, { status: 413 });
  if (!isOAuthErrorCode(error.code)) return oauthError("server_error", "internal error", options);
  return oauthError(error.code, error.message, options);
}

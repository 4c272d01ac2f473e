/**
 * Shapes of the broker's answers (DESIGN §4.1), checked before use: the body came over the
 * network, so it stays `unknown` until each member has the expected type and bounds.
 */
import { type ErrorCode, OAuthError, SurrogateError } from "../core/errors.ts";
import { MAX_WRAPPER_LENGTH } from "../core/token/compact.ts";
import type { BrokerReply } from "./agent-client.ts";

/** RFC 6749 §5.1, with wrappers in place of the tokens. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** RFC 8628 §3.2. */
export interface DeviceGrant {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval: number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const OAUTH_CODES: readonly ErrorCode[] = [
  "invalid_request",
  "invalid_grant",
  "unsupported_grant_type",
  "access_denied",
  "authorization_pending",
  "slow_down",
  "expired_token",
  "rate_limited",
  "server_error",
  "temporarily_unavailable",
];

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Text from the broker, made safe for a terminal: printable ASCII only, bounded. */
export function printable(text: string, max = 200): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, max);
}

/** A wrapper is a compact JWS: checked so nothing else (escape sequences, huge text) is ever printed. */
export function isWrapper(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_WRAPPER_LENGTH && COMPACT_JWS.test(value);
}

export function parseTokenResponse(value: unknown, where: string): TokenResponse {
  const body = record(value);
  if (body === undefined || !isWrapper(body.access_token)) throw unexpected(where, "access_token");
  if (typeof body.token_type !== "string") throw unexpected(where, "token_type");
  const expiresIn = body.expires_in;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn)) throw unexpected(where, "expires_in");
  if (body.scope !== undefined && typeof body.scope !== "string") throw unexpected(where, "scope");
  if (body.refresh_token !== undefined && !isWrapper(body.refresh_token))
    throw unexpected(where, "refresh_token");
  return {
    access_token: body.access_token,
    token_type: printable(body.token_type, 32),
    expires_in: expiresIn,
    scope: printable(body.scope ?? "", 2048),
    ...(body.refresh_token === undefined ? {} : { refresh_token: body.refresh_token }),
  };
}

export function parseDeviceGrant(value: unknown, where: string): DeviceGrant {
  const body = record(value);
  if (body === undefined) throw unexpected(where, "body");
  const text = (name: string, max: number): string => {
    const member = body[name];
    if (typeof member !== "string" || member === "" || member.length > max) throw unexpected(where, name);
    return member;
  };
  const seconds = (name: string, fallback?: number): number => {
    const member = body[name] ?? fallback;
    if (typeof member !== "number" || !Number.isFinite(member) || member <= 0) throw unexpected(where, name);
    return member;
  };
  const complete = body.verification_uri_complete;
  return {
    device_code: text("device_code", 1024),
    user_code: printable(text("user_code", 64)),
    verification_uri: printable(text("verification_uri", 2048), 2048),
    ...(typeof complete === "string" ? { verification_uri_complete: printable(complete, 2048) } : {}),
    expires_in: seconds("expires_in"),
    // RFC 8628 §3.2: the client waits 5 seconds when the server names no interval.
    interval: seconds("interval", 5),
  };
}

/** An OAuth error answer (RFC 6749 §5.2) as an OAuthError; any other failure as server_error. */
export function replyError(reply: BrokerReply, where: string): SurrogateError {
  const body = record(reply.body);
  const error = body?.error;
  const description =
    typeof body?.error_description === "string" ? printable(body.error_description) : undefined;
  const code = OAUTH_CODES.find((known) => known === error);
  if (code === undefined)
    return new SurrogateError("server_error", `${where}: unexpected answer (${reply.status})`);
  return new OAuthError(code, description === undefined ? `${where}: ${code}` : `${where}: ${description}`);
}

function unexpected(where: string, member: string): SurrogateError {
  return new SurrogateError("server_error", `${where}: answer has no valid ${member}`);
}

import { type ErrorCode, SurrogateError } from "../core/errors.ts";
import type { AccessFields } from "../ops/log/access.ts";
import type { Logger } from "../ops/log/logger.ts";

const TITLES: Partial<Record<ErrorCode, string>> = {
  missing_token: "Missing token",
  invalid_token: "Invalid token",
  binding_mismatch: "Token bound to another certificate",
  certificate_expired: "Client certificate expired",
  host_not_allowed: "Host not allowed",
  access_denied: "Access denied",
  bad_target: "Bad proxy target",
  invalid_request: "Invalid request",
  upstream_unreachable: "Upstream unreachable",
  upstream_timeout: "Upstream timeout",
  payload_too_large: "Payload too large",
  headers_too_large: "Request headers too large",
  server_error: "Internal error",
};

/** HTTP status for each code the proxy answers with (DESIGN §9). */
export const PROBLEM_STATUS: Partial<Record<ErrorCode, number>> = {
  missing_token: 401,
  invalid_token: 401,
  binding_mismatch: 401,
  certificate_expired: 401,
  host_not_allowed: 403,
  access_denied: 403,
  bad_target: 400,
  invalid_request: 400,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  payload_too_large: 413,
  headers_too_large: 431,
  server_error: 500,
};

/**
 * An RFC 9457 problem details response. `detail` must never contain a token: callers pass fixed
 * text or error messages that are secret-free by construction (src/core/errors.ts).
 */
export function problem(status: number, code: ErrorCode, detail: string): Response {
  const body = {
    type: `urn:surrogate:problem:${code}`,
    title: TITLES[code] ?? code,
    status,
    code,
    detail,
  };
  const headers = new Headers({ "content-type": "application/problem+json", "cache-control": "no-store" });
  // RFC 6750 §3: a rejected bearer token is announced with a challenge naming the error; a missing
  // one with a bare challenge (§3.1: no error code when no credentials were sent).
  if (code === "invalid_token" || code === "binding_mismatch") {
    headers.set("www-authenticate", 'Bearer error="invalid_token"');
  } else if (code === "missing_token") {
    headers.set("www-authenticate", "Bearer");
  } else if (code === "certificate_expired") {
    // The connection's certificate will not become valid again: the agent port closes it after this
    // response (RFC 9112 §9.6), so the agent reconnects with its current certificate.
    headers.set("connection", "close");
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/** The problem response for a proxy error code, with its fixed status. */
export function problemFor(code: ErrorCode, detail: string): Response {
  return problem(PROBLEM_STATUS[code] ?? 500, code, detail);
}

/** The answer to a failed proxied request; the access line gets its code. */
export function errorResponse(error: unknown, log: AccessFields, logger: Logger): Response {
  if (error instanceof SurrogateError && PROBLEM_STATUS[error.code] !== undefined) {
    log.code = error.code;
    return problemFor(error.code, error.message);
  }
  // Unknown failures are logged by type only: their messages were not written to be secret-free.
  logger.error("proxy.request_failed", { error: error instanceof Error ? error.name : typeof error });
  log.code = "server_error";
  return problem(500, "server_error", "proxy: internal error");
}

export function numberOrUndefined(text: string | null): number | undefined {
  return text === null || !/^\d+$/.test(text) ? undefined : Number(text);
}

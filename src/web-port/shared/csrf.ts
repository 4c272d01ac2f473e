/**
 * CSRF protection for Approve/Deny: a double-submit cookie (OWASP CSRF cheat sheet, "signed double
 * submit"). The browser holds a random `surrogate-csrf` cookie (HttpOnly, SameSite=Strict, `__Host-`
 * on https); each form carries HMAC(cookie, grant id). A cross-site attacker can neither read the
 * cookie nor, thanks to `__Host-`, set it, so cannot produce the form value; binding the token to the
 * grant means a token seen on one consent page is worthless for another grant.
 */
import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../../core/secret.ts";
import { cookieName, readCookie, serializeCookie } from "./cookies.ts";

const CSRF_COOKIE = "surrogate-csrf";
/** 32 random bytes, base64url. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** The cookie outlives a grant comfortably; it is not a session and carries no authority alone. */
const CSRF_MAX_AGE = 12 * 60 * 60;

export interface CsrfContext {
  /** The cookie value to use for this response. */
  cookie: string;
  /** A Set-Cookie header value when the browser had no usable cookie yet. */
  setCookie?: string;
}

export function csrfCookieName(secure: boolean): string {
  return cookieName(CSRF_COOKIE, secure);
}

/** Reuses the browser's cookie when well-formed, otherwise mints a new one. */
export function csrfContext(
  request: Request,
  secure: boolean,
  randomBytes: (size: number) => Uint8Array,
): CsrfContext {
  const name = csrfCookieName(secure);
  const existing = readCookie(request, name);
  if (existing !== undefined && COOKIE_VALUE.test(existing)) return { cookie: existing };
  const cookie = Buffer.from(randomBytes(32)).toString("base64url");
  const setCookie = serializeCookie(name, cookie, { maxAge: CSRF_MAX_AGE, secure, sameSite: "strict" });
  return { cookie, setCookie };
}

export function csrfToken(cookie: string, grantId: string): string {
  return createHmac("sha256", cookie).update(`surrogate-csrf\0${grantId}`).digest("base64url");
}

/** True only when the request's cookie is well-formed and the submitted token matches it for this grant. */
export function csrfValid(request: Request, secure: boolean, grantId: string, submitted: string): boolean {
  const cookie = readCookie(request, csrfCookieName(secure));
  if (cookie === undefined || !COOKIE_VALUE.test(cookie)) return false;
  return constantTimeEqual(csrfToken(cookie, grantId), submitted);
}

/**
 * The web port's cookies, parsed and written by Bun's own `Bun.CookieMap` / `Bun.Cookie`, with every
 * attribute chosen here. Names get the `__Host-` prefix when the issuer is https: the browser then
 * refuses them unless they are Secure, host-only (no Domain) and Path=/, so a sibling subdomain
 * cannot plant or overwrite them (RFC 6265bis §4.1.3.2) — which is what makes a double-submit CSRF
 * cookie trustworthy. Browsers reject a `__Host-` cookie without Secure, so a plain-http development
 * issuer uses the bare name.
 */

/** Longest cookie header we look into; anything larger is not from our pages. */
const MAX_COOKIE_HEADER = 8192;
/**
 * Every value we set is base64url or a compact JWE (base64url parts joined by dots); a value of
 * any other shape is not ours and is treated as absent.
 */
const OUR_VALUE = /^[A-Za-z0-9_.-]{1,4096}$/;

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  secure: boolean;
  /**
   * `strict` for the CSRF and session cookies (only ever needed by same-site requests). `lax` for
   * the flow and admin-login cookies: the IdP's redirect back is a cross-site top-level GET, which
   * Strict would strip.
   */
  sameSite: "strict" | "lax";
}

/** Cookies are `Secure` and `__Host-` exactly when the public URL (the issuer) is https. */
export function secureCookies(issuer: string): boolean {
  return new URL(issuer).protocol === "https:";
}

export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

/** The value of the first cookie called `name` when it has the shape of our values, else undefined. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (header === null || header.length > MAX_COOKIE_HEADER) return undefined;
  const value = new Bun.CookieMap(header).get(name);
  return value !== null && OUR_VALUE.test(value) ? value : undefined;
}

/** A Set-Cookie value: Path=/, HttpOnly, no Domain (host-only), SameSite as asked, Secure on https. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return new Bun.Cookie(name, value, {
    path: "/",
    httpOnly: true,
    sameSite: options.sameSite,
    secure: options.secure,
    maxAge: Math.max(0, Math.floor(options.maxAge)),
  }).serialize();
}

export function clearCookie(name: string, options: Omit<CookieOptions, "maxAge">): string {
  return serializeCookie(name, "", { ...options, maxAge: 0 });
}

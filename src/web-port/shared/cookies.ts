/**
 * The web port's two cookies, read and written by hand so every attribute is deliberate. Names get
 * the `__Host-` prefix when the issuer is https: the browser then refuses them unless they are
 * Secure, host-only (no Domain) and Path=/, so a sibling subdomain cannot plant or overwrite them
 * (RFC 6265bis §4.1.3.2) — which is what makes a double-submit CSRF cookie trustworthy. Browsers
 * reject a `__Host-` cookie without Secure, so a plain-http development issuer uses the bare name.
 */

/** Longest cookie header we look into; anything larger is not from our pages. */
const MAX_COOKIE_HEADER = 8192;

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  secure: boolean;
  /**
   * `Strict` for the CSRF cookie (only ever needed by same-site form posts). `Lax` for the flow
   * cookie: the IdP's redirect to /callback is a cross-site top-level GET, which Strict would strip.
   */
  sameSite: "Strict" | "Lax";
}

export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

/** The value of the first cookie called `name`, or undefined. Values are opaque: never URL-decoded. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (header === null || header.length > MAX_COOKIE_HEADER) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value. `value` must already be cookie-safe (we only store base64url and compact JWE). */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, "Path=/", "HttpOnly", `SameSite=${options.sameSite}`];
  if (options.secure) parts.push("Secure");
  parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
  return parts.join("; ");
}

export function clearCookie(name: string, options: Omit<CookieOptions, "maxAge">): string {
  return serializeCookie(name, "", { ...options, maxAge: 0 });
}

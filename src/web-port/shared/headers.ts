/**
 * Headers on every response of the web port, errors and 404s included. The CSP allows no inline
 * script or style at all (pages load only /static/*), so an escaping bug cannot become script
 * execution; frames are refused (clickjacking the Approve button); no Referer leaks the user code.
 */
import { Elysia } from "elysia";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import { Secret } from "../../core/secret.ts";

export const BASE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * `form-action` also governs where a form submission may be redirected (CSP3 §6.4.1, enforced by
 * Chromium): Approve answers with a 302 to the IdP, so the IdPs' authorization origins must be listed.
 */
export function contentSecurityPolicy(formOrigins: readonly string[]): string {
  const formAction = ["'self'", ...formOrigins].join(" ");
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/**
 * The origin of each provider's authorization endpoint. The contract exposes the endpoint only
 * through `authorizationUrl`, a pure URL builder, so we build one throw-away URL with placeholder
 * values (never sent anywhere) and keep its origin. A provider that cannot build one is skipped: its
 * Approve would fail before any redirect anyway.
 */
export async function authorizationOrigins(
  providers: ReadonlyMap<string, ResolvedProvider>,
): Promise<string[]> {
  const origins = new Set<string>();
  for (const provider of providers.values()) {
    const origin = await authorizationOrigin(provider);
    if (origin !== undefined) origins.add(origin);
  }
  return [...origins].sort();
}

async function authorizationOrigin(provider: ResolvedProvider): Promise<string | undefined> {
  if (provider.oauth === undefined) return undefined;
  const placeholder = {
    state: "csp",
    codeVerifier: new Secret("csp-placeholder-verifier-".repeat(2)),
    scopes: [],
  };
  try {
    const url = await provider.oauth.authorizationUrl(
      provider.oidc ? { ...placeholder, nonce: "csp" } : placeholder,
    );
    return url.origin;
  } catch {
    return undefined;
  }
}

/** The operator view's paths: their forms post only to themselves, and their errors are plain text. */
export function isAdminPath(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === "/admin" || path.startsWith("/admin/");
}

/**
 * The one hook that puts the headers on every response of the web port, errors and 404s included:
 * it fills Elysia's `set.headers` before routing, and Elysia adds those to whatever a handler returns
 * unless the response already carries the header (static assets keep their long cache-control).
 */
export function securityHeaders(providers: ReadonlyMap<string, ResolvedProvider>) {
  const consent = authorizationOrigins(providers).then((origins) => ({
    ...BASE_SECURITY_HEADERS,
    "content-security-policy": contentSecurityPolicy(origins),
  }));
  const admin = { ...BASE_SECURITY_HEADERS, "content-security-policy": contentSecurityPolicy([]) };
  return new Elysia({ name: "surrogate-security-headers" })
    .onRequest(async ({ request, set }) => {
      Object.assign(set.headers, isAdminPath(request) ? admin : await consent);
    })
    .as("global");
}

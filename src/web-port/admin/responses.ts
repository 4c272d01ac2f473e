/**
 * Every admin response goes through `secured`: the web port's security headers (src/web/headers.ts:
 * CSP without inline script or style, frame-ancestors 'none', X-Frame-Options DENY, no Referer,
 * no-store, nosniff). The admin's forms post only to itself, so form-action is 'self'.
 */
import { BASE_SECURITY_HEADERS, contentSecurityPolicy } from "../shared/headers.ts";

const ADMIN_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_SECURITY_HEADERS,
  "content-security-policy": contentSecurityPolicy([]),
};

export function secured(response: Response): Response {
  for (const [name, value] of Object.entries(ADMIN_HEADERS)) {
    // Static assets keep their long cache; everything else is no-store.
    if (name === "cache-control" && response.headers.has(name)) continue;
    response.headers.set(name, value);
  }
  return response;
}

export async function html(
  element: JSX.Element,
  status = 200,
  cookies: readonly string[] = [],
): Promise<Response> {
  const headers = new Headers({ "content-type": "text/html; charset=utf-8" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(await element, { status, headers });
}

/** 303: after a POST the browser follows with a GET (RFC 9110 §15.4.4). */
export function seeOther(location: string, cookies: readonly string[] = []): Response {
  const headers = new Headers({ location });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

export function plain(text: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}

export function notFound(): Response {
  return plain("not found", 404);
}

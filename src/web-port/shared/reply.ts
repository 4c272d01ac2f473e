/**
 * What a web-port handler writes besides its body: Elysia's `set` (status, headers). Pages are
 * returned as JSX and typed text/html by the html() plugin (shared/plugins.ts); handlers only say
 * the status and the cookies.
 */
import type { Context } from "elysia";

export type ReplySet = Context["set"];

/** One more Set-Cookie line; earlier ones stay. */
export function addCookie(set: ReplySet, cookie: string): void {
  const current = set.headers["set-cookie"];
  const lines = current === undefined ? [] : Array.isArray(current) ? current : [current];
  set.headers["set-cookie"] = [...lines, cookie];
}

/**
 * A redirect. 302 hands the browser to the IdP; 303 answers a POST with a GET (RFC 9110 §15.4.4).
 * Cookies added to `set` travel with it.
 */
export function redirect(location: string, status: 302 | 303): Response {
  return new Response(null, { status, headers: { location } });
}

export function plain(text: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}

/**
 * The admin stylesheet, embedded at build time like src/web/static.ts (a text import is inlined by
 * the bundler; no CDN, no external fonts). Served with a content-hash URL so it caches for a year.
 */
import cssSource from "../../../ui/admin/admin.css" with { type: "text" };
import { STATIC_CACHE_CONTROL } from "../shared/static.ts";

export const ADMIN_STYLESHEET = {
  path: "/static/admin.css",
  url: `/static/admin.css?v=${new Bun.CryptoHasher("sha256").update(cssSource).digest("hex").slice(0, 12)}`,
  body: cssSource,
};

export function adminStylesheetResponse(): Response {
  return new Response(ADMIN_STYLESHEET.body, {
    headers: { "content-type": "text/css; charset=utf-8", "cache-control": STATIC_CACHE_CONTROL },
  });
}

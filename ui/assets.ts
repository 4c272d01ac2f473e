/**
 * The pages' static assets, embedded at build time: text imports are inlined by Bun's bundler, so
 * the `bun build --compile` binary serves them without touching the disk or any CDN (a CDN would put
 * a third party in the consent page's trust base). URLs carry a content hash, so they can be cached
 * for a year and still change on upgrade. The web port serves them (src/web-port/shared/static.ts).
 */
import htmxSource from "htmx.org/dist/htmx.min.js" with { type: "text" };
import cssSource from "./surrogate.css" with { type: "text" };

export interface StaticAsset {
  path: string;
  /** Path plus `?v=<content hash>`, for links in pages. */
  url: string;
  body: string;
  contentType: string;
}

export function asset(path: string, body: string, contentType: string): StaticAsset {
  const hash = new Bun.CryptoHasher("sha256").update(body).digest("hex").slice(0, 12);
  return { path, url: `${path}?v=${hash}`, body, contentType };
}

export const HTMX = asset("/static/htmx.min.js", htmxSource, "text/javascript; charset=utf-8");
export const STYLESHEET = asset("/static/surrogate.css", cssSource, "text/css; charset=utf-8");

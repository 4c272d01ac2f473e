/** Serving the pages' embedded assets (ui/assets.ts) under their hashed URLs, cached for a year. */
import type { StaticAsset } from "../../../ui/assets.ts";

const STATIC_CACHE_CONTROL = "public, max-age=31536000, immutable";

export function staticResponse(item: StaticAsset): Response {
  return new Response(item.body, {
    headers: { "content-type": item.contentType, "cache-control": STATIC_CACHE_CONTROL },
  });
}

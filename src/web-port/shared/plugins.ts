/**
 * The web port's Elysia plumbing, registered once on the port's app: JSX pages typed by the html()
 * plugin, the security headers hook, and bodies left unparsed.
 */
import { html } from "@elysiajs/html";
import { Elysia } from "elysia";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import { securityHeaders } from "./headers.ts";

/**
 * Elysia's parser would buffer a whole body before any limit applies; the forms are read by our
 * capped streaming reader (shared/form.ts) instead, so the parse hook answers first with nothing.
 */
const unparsedBodies = new Elysia({ name: "surrogate-unparsed-bodies" }).onParse(
  { as: "global" },
  () => null,
);

export function webPlugins(providers: ReadonlyMap<string, ResolvedProvider>) {
  return new Elysia({ name: "surrogate-web-plugins" })
    .use(html({ contentType: "text/html; charset=utf-8", autoDoctype: false }))
    .use(securityHeaders(providers))
    .use(unparsedBodies);
}

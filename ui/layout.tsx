/** @jsxImportSource @kitajs/html */
import type { PropsWithChildren } from "@kitajs/html";
import { HTMX, STYLESHEET } from "../src/web/static.ts";

/**
 * htmx 4 configuration via its meta tag (no inline script): its indicator CSS is switched off
 * because it is injected from script (the CSP forbids style not served from /static), history
 * snapshots are not needed, and requests stay same-origin.
 */
const HTMX_CONFIG = "includeIndicatorCSS:false history:false mode:same-origin";

/** Every page: static assets only, no inline script or style (the CSP forbids both). */
export function Layout({ title, children }: PropsWithChildren<{ title: string }>): JSX.Element {
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title safe>{`${title} · surrogate`}</title>
          {/* No favicon request (and no 404 in the console): an empty data: icon, allowed by img-src. */}
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href={STYLESHEET.url} />
          <script src={HTMX.url} defer />
        </head>
        <body>
          <main>
            <p class="brand">surrogate</p>
            {children}
          </main>
        </body>
      </html>
    </>
  );
}

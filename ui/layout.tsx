/** @jsxImportSource @kitajs/html */
import type { PropsWithChildren } from "@kitajs/html";
import { HTMX, STYLESHEET } from "./assets.ts";

/**
 * htmx 4 configuration via its meta tag (no inline script): its indicator CSS is switched off
 * because it is injected from script (the CSP forbids style not served from /static), history
 * snapshots are not needed, and requests stay same-origin.
 */
const HTMX_CONFIG = "includeIndicatorCSS:false history:false mode:same-origin";

/**
 * The HTML shell of every page, consent and admin alike: static assets only, no inline script or
 * style (the CSP forbids both). `title` is escaped; `stylesheets` are our own asset URLs.
 */
export function Document({
  title,
  stylesheets,
  children,
}: PropsWithChildren<{ title: string; stylesheets: readonly string[] }>): JSX.Element {
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title safe>{title}</title>
          {/* No favicon request (and no 404 in the console): an empty data: icon, allowed by img-src. */}
          <link rel="icon" href="data:," />
          {stylesheets.map((href) => (
            <link rel="stylesheet" href={href} />
          ))}
          <script src={HTMX.url} defer />
        </head>
        <body>{children}</body>
      </html>
    </>
  );
}

/** A consent-flow page. */
export function Layout({ title, children }: PropsWithChildren<{ title: string }>): JSX.Element {
  return (
    <Document title={`${title} · surrogate`} stylesheets={[STYLESHEET.url]}>
      <main>
        <p class="brand">surrogate</p>
        {children}
      </main>
    </Document>
  );
}

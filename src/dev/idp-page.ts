import { createHash } from "node:crypto";

/**
 * The demo IdP's two HTML pages. Every inserted value goes through `escapeHtml`, including the ones
 * that look harmless (client_id, scope come from the query string). No script at all; the one
 * stylesheet is allowed by its hash, so the CSP needs neither 'unsafe-inline' nor a nonce.
 */

export const DEMO_LABEL = "surrogate DEMO identity provider — not for production";

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}" +
  ".demo{background:#b00020;color:#fff;padding:.5rem 1rem;border-radius:4px;font-weight:600}" +
  "code{background:#eee;padding:0 .25rem}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}";
/** CSP Level 3 §8.3 hash-source: only this exact stylesheet may apply. */
const STYLE_SOURCE = `'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

export interface SignInView {
  /** Opaque id of the pending authorization request, posted back with the decision. */
  requestId: string;
  clientId: string;
  scope: string;
  email: string;
}

export function signInPage(view: SignInView): string {
  return shell(
    "Sign in",
    `<h1>Sign in as <code>${escapeHtml(view.email)}</code>?</h1>
<p>Client <code>${escapeHtml(view.clientId)}</code> asks for: <code>${escapeHtml(view.scope)}</code></p>
<p>There is no password: this demo IdP knows exactly one user.</p>
<form method="post" action="/authorize">
<input type="hidden" name="request" value="${escapeHtml(view.requestId)}">
<button type="submit" name="decision" value="approve">Sign in as ${escapeHtml(view.email)}</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return shell(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · ${escapeHtml(DEMO_LABEL)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><p class="demo">${escapeHtml(DEMO_LABEL)}</p>
${body}
</body></html>`;
}

/**
 * `formActions`: where the sign-in form may lead. Browsers apply form-action to the redirect that
 * follows the POST as well (CSP Level 3 §6.3.1.1), so the client's redirect_uri origin is listed.
 */
export function htmlResponse(html: string, status: number, formActions: readonly string[] = []): Response {
  const csp = [
    "default-src 'none'",
    `style-src ${STYLE_SOURCE}`,
    `form-action 'self'${formActions.map((origin) => ` ${origin}`).join("")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    },
  });
}

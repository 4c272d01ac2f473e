/** @jsxImportSource @kitajs/html */
import type { PropsWithChildren } from "@kitajs/html";
import { STYLESHEET } from "../assets.ts";
import { Document } from "../layout.tsx";
import { ADMIN_STYLESHEET } from "./assets.ts";

export type AdminSection = "overview" | "grants" | "traffic" | "access";

export interface AdminChrome {
  /** Who is signed in, as shown in the bar. */
  who: string;
  csrf: string;
}

const SECTIONS: ReadonlyArray<[AdminSection, string, string]> = [
  ["overview", "Overview", "/admin"],
  ["grants", "Grants", "/admin/grants"],
  ["traffic", "Traffic", "/admin/traffic"],
  ["access", "Access", "/admin/access"],
];

/** Every admin page: the common shell with the admin bar and stylesheet. */
export function AdminLayout({
  title,
  chrome,
  active,
  children,
}: PropsWithChildren<{ title: string; chrome?: AdminChrome; active?: AdminSection }>): JSX.Element {
  return (
    <Document title={`${title} · surrogate admin`} stylesheets={[STYLESHEET.url, ADMIN_STYLESHEET.url]}>
      <main class="admin">
        <header class="admin-bar">
          <p class="brand">surrogate admin</p>
          {chrome === undefined ? "" : <Nav chrome={chrome} active={active} />}
        </header>
        {children}
      </main>
    </Document>
  );
}

function Nav({ chrome, active }: { chrome: AdminChrome; active: AdminSection | undefined }): JSX.Element {
  return (
    <>
      <nav>
        {SECTIONS.map(([section, label, href]) =>
          section === active ? (
            <a href={href} aria-current="page">
              {label}
            </a>
          ) : (
            <a href={href}>{label}</a>
          ),
        )}
      </nav>
      <div class="who">
        <span safe>{chrome.who}</span>
        <form method="post" action="/admin/logout">
          <input type="hidden" name="csrf" value={chrome.csrf} />
          <button type="submit">Sign out</button>
        </form>
      </div>
    </>
  );
}

/** A live panel: htmx replaces it with a fresh copy from `url` every `every`. */
export function LivePanel({
  id,
  url,
  every,
  children,
}: PropsWithChildren<{ id: string; url: string; every: string }>) {
  return (
    <div id={id} hx-get={url} hx-trigger={`every ${every}`} hx-swap="outerHTML">
      {children}
    </div>
  );
}

/** What a panel becomes when the session ended: no trigger, so polling stops. */
export function SessionEnded({ id }: { id: string }): JSX.Element {
  return (
    <div id={id} class="card">
      <p>
        Your session has ended. <a href="/admin/login">Sign in again</a>.
      </p>
    </div>
  );
}

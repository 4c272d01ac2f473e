/** @jsxImportSource @kitajs/html */
/**
 * The admin's route handlers. Pages need a session (else a redirect to the login page); live
 * fragments polled by htmx need one too, but a fragment never extends the session (see session.ts)
 * and answers "session ended" without a trigger, which stops the polling.
 */

import { ACCESS_POLL, AccessPage, AccessPanel } from "../../../ui/admin/access.tsx";
import { GRANTS_POLL, GrantsPage, GrantsTable } from "../../../ui/admin/grants.tsx";
import type { AdminChrome, AdminSection } from "../../../ui/admin/layout.tsx";
import { LivePanel, SessionEnded } from "../../../ui/admin/layout.tsx";
import { OverviewPage, OverviewPanel } from "../../../ui/admin/overview.tsx";
import { TrafficPage, TrafficPanel } from "../../../ui/admin/traffic.tsx";
import { addCookie, type ReplySet, redirect } from "../shared/reply.ts";
import { accessData } from "./access.ts";
import type { AdminContext } from "./context.ts";
import { type AdminSession, readSession, sessionCookie } from "./session.ts";
import { grantsData, overviewData, trafficData } from "./views.ts";

export async function currentSession(
  context: AdminContext,
  request: Request,
): Promise<AdminSession | undefined> {
  const admin = context.admin;
  if (admin === undefined) return undefined;
  return readSession(request, context.keys(), {
    secure: context.secure,
    idleMs: admin.sessionIdle * 1000,
    now: context.now(),
  });
}

export function newSessionCookie(context: AdminContext, session: AdminSession): Promise<string> {
  return sessionCookie(session, context.keys(), {
    secure: context.secure,
    idleSeconds: context.admin?.sessionIdle ?? 0,
  });
}

/** The bar says how the operator signed in, in words ("password" alone read like a label). */
function chromeOf(session: AdminSession): AdminChrome {
  const who =
    session.method === "password" ? "signed in with the admin password" : `signed in as ${session.who}`;
  return { who, csrf: session.csrf };
}

type PageRenderer = (context: AdminContext, chrome: AdminChrome) => Promise<JSX.Element>;

const PAGES: Record<AdminSection, PageRenderer> = {
  overview: async (context, chrome) => OverviewPage({ chrome, data: await overviewData(context) }),
  grants: async (context, chrome) =>
    GrantsPage({ chrome, grants: await grantsData(context), now: context.now() }),
  traffic: async (context, chrome) => TrafficPage({ chrome, data: trafficData(context) }),
  access: async (context, chrome) =>
    AccessPage({ chrome, data: await accessData(context), now: context.now() }),
};

/** A full page: opening one counts as activity, so the session cookie is re-issued with a new `seenAt`. */
export async function pageRoute(
  context: AdminContext,
  request: Request,
  set: ReplySet,
  section: AdminSection,
): Promise<JSX.Element | Response> {
  const session = await currentSession(context, request);
  if (session === undefined) return redirect("/admin/login", 303);
  const refreshed = { ...session, seenAt: context.now() };
  addCookie(set, await newSessionCookie(context, refreshed));
  return PAGES[section](context, chromeOf(refreshed));
}

const FRAGMENTS: Record<AdminSection, (context: AdminContext, csrf: string) => Promise<JSX.Element>> = {
  overview: async (context) => (
    <LivePanel id="overview" url="/admin/fragments/overview" every="5s">
      <OverviewPanel data={await overviewData(context)} />
    </LivePanel>
  ),
  grants: async (context) => (
    <LivePanel id="grants" url="/admin/fragments/grants" every={GRANTS_POLL}>
      <GrantsTable grants={await grantsData(context)} now={context.now()} />
    </LivePanel>
  ),
  traffic: async (context) => (
    <LivePanel id="traffic" url="/admin/fragments/traffic" every="2s">
      <TrafficPanel data={trafficData(context)} />
    </LivePanel>
  ),
  access: async (context, csrf) => (
    <LivePanel id="access" url="/admin/fragments/access" every={ACCESS_POLL}>
      <AccessPanel data={await accessData(context)} now={context.now()} csrf={csrf} />
    </LivePanel>
  ),
};

export async function fragmentRoute(
  context: AdminContext,
  request: Request,
  section: AdminSection,
): Promise<JSX.Element> {
  const session = await currentSession(context, request);
  if (session === undefined) return SessionEnded({ id: section });
  return FRAGMENTS[section](context, session.csrf);
}

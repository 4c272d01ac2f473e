/** Sign-in and sign-out routes: password, provider (start and callback), logout. */
import { LoginPage } from "../../../ui/admin/login.tsx";
import { constantTimeEqual } from "../../core/secret.ts";
import { clearCookie } from "../shared/cookies.ts";
import { csrfContext, csrfToken } from "../shared/csrf.ts";
import { readForm } from "../shared/form.ts";
import { randomToken } from "../shared/random.ts";
import { addCookie, plain, type ReplySet, redirect } from "../shared/reply.ts";
import type { AdminContext } from "./context.ts";
import { checkPassword, LOGIN_CSRF_SCOPE, type PasswordOutcome } from "./login-password.ts";
import { clearLoginCookie, finishProviderLogin, startProviderLogin } from "./login-provider.ts";
import { currentSession, newSessionCookie } from "./routes.tsx";
import { sessionCookieName } from "./session.ts";

const PROBLEMS: Record<Exclude<PasswordOutcome, "ok">, [number, string]> = {
  csrf: [403, "The form expired. Please try again."],
  rate_limited: [429, "Too many attempts. Wait a minute and try again."],
  wrong: [401, "Wrong password."],
  disabled: [404, "Password sign-in is not enabled."],
};

export function loginPage(
  context: AdminContext,
  request: Request,
  set: ReplySet,
  problem?: [number, string],
): JSX.Element {
  const csrf = csrfContext(request, context.secure, context.randomBytes);
  if (csrf.setCookie !== undefined) addCookie(set, csrf.setCookie);
  if (problem !== undefined) set.status = problem[0];
  return LoginPage({
    passwordEnabled: context.admin?.passwordHash !== undefined,
    ...(context.admin?.provider === undefined ? {} : { provider: context.admin.provider }),
    csrf: csrfToken(csrf.cookie, LOGIN_CSRF_SCOPE),
    ...(problem === undefined ? {} : { problem: problem[1] }),
  });
}

export async function passwordLogin(
  context: AdminContext,
  request: Request,
  set: ReplySet,
  client: string,
): Promise<JSX.Element | Response> {
  const outcome = await checkPassword(context, request.clone(), client);
  if (outcome !== "ok") {
    context.logger.audit("auth.failed", {
      reason: outcome === "csrf" ? "admin_csrf" : "admin_password",
      outcome,
      remote: client,
    });
    return loginPage(context, request, set, PROBLEMS[outcome]);
  }
  return signIn(context, set, "password", "password", { remote: client });
}

async function signIn(
  context: AdminContext,
  set: ReplySet,
  who: string,
  method: "password" | "provider",
  seen: { sub?: string; remote?: string },
): Promise<Response> {
  const now = context.now();
  const session = { who, method, csrf: randomToken(context.randomBytes), issuedAt: now, seenAt: now };
  context.logger.audit("admin.login", { outcome: "ok", method, ...seen });
  addCookie(set, await newSessionCookie(context, session));
  if (method === "provider") addCookie(set, clearLoginCookie(context));
  return redirect("/admin", 303);
}

export async function providerStart(context: AdminContext, set: ReplySet): Promise<Response> {
  if (context.admin?.provider === undefined) return plain("not found", 404);
  const { location, cookie } = await startProviderLogin(context);
  addCookie(set, cookie);
  return redirect(location, 302);
}

export async function providerCallback(
  context: AdminContext,
  request: Request,
  set: ReplySet,
): Promise<JSX.Element | Response> {
  if (context.admin?.provider === undefined) return plain("not found", 404);
  const result = await finishProviderLogin(context, request);
  if (result.ok)
    return signIn(context, set, result.who, "provider", result.sub === undefined ? {} : { sub: result.sub });
  context.logger.audit("auth.failed", {
    reason: result.reason,
    outcome: "refused",
    ...(result.sub === undefined ? {} : { sub: result.sub }),
  });
  addCookie(set, clearLoginCookie(context));
  return loginPage(context, request, set, [403, "Sign-in failed or this account is not an admin."]);
}

/** Logout needs the session's CSRF token: otherwise any site could sign the admin out. */
export async function logout(context: AdminContext, request: Request, set: ReplySet): Promise<Response> {
  const session = await currentSession(context, request.clone());
  const form = await readForm(request);
  if (session !== undefined && !constantTimeEqual(form.get("csrf") ?? "", session.csrf)) {
    context.logger.audit("auth.failed", { reason: "admin_csrf", outcome: "refused" });
    return plain("The form expired: reload the page and try again. You are still signed in.", 403);
  }
  if (session !== undefined) context.logger.audit("admin.logout", { outcome: "ok", method: session.method });
  addCookie(
    set,
    clearCookie(sessionCookieName(context.secure), { secure: context.secure, sameSite: "strict" }),
  );
  return redirect("/admin/login", 303);
}

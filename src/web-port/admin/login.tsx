/** @jsxImportSource @kitajs/html */
/** Sign-in and sign-out routes: password, provider (start and callback), logout. */
import { LoginPage } from "../../../ui/admin/login.tsx";
import { constantTimeEqual } from "../../core/secret.ts";
import { clearCookie } from "../shared/cookies.ts";
import { csrfContext, csrfToken } from "../shared/csrf.ts";
import { readForm } from "../shared/form.ts";
import { type AdminContext, randomToken } from "./deps.ts";
import { checkPassword, LOGIN_CSRF_SCOPE, type PasswordOutcome } from "./login-password.ts";
import { clearLoginCookie, finishProviderLogin, startProviderLogin } from "./login-provider.ts";
import { html, notFound, plain, seeOther } from "./responses.ts";
import { currentSession, newSessionCookie } from "./routes.tsx";
import { sessionCookieName } from "./session.ts";

const PROBLEMS: Record<Exclude<PasswordOutcome, "ok">, [number, string]> = {
  csrf: [403, "The form expired. Please try again."],
  rate_limited: [429, "Too many attempts. Wait a minute and try again."],
  wrong: [401, "Wrong password."],
  disabled: [404, "Password sign-in is not enabled."],
};

export async function loginPage(
  context: AdminContext,
  request: Request,
  problem?: [number, string],
): Promise<Response> {
  const csrf = csrfContext(request, context.secure, context.randomBytes);
  const page = LoginPage({
    passwordEnabled: context.admin?.passwordHash !== undefined,
    ...(context.admin?.provider === undefined ? {} : { provider: context.admin.provider }),
    csrf: csrfToken(csrf.cookie, LOGIN_CSRF_SCOPE),
    ...(problem === undefined ? {} : { problem: problem[1] }),
  });
  return html(page, problem?.[0] ?? 200, csrf.setCookie === undefined ? [] : [csrf.setCookie]);
}

export async function passwordLogin(
  context: AdminContext,
  request: Request,
  client: string,
): Promise<Response> {
  const outcome = await checkPassword(context, request.clone(), client);
  if (outcome !== "ok") {
    context.deps.logger.audit("auth.failed", {
      reason: outcome === "csrf" ? "admin_csrf" : "admin_password",
      outcome,
    });
    return loginPage(context, request, PROBLEMS[outcome]);
  }
  return signIn(context, "password", "password");
}

async function signIn(context: AdminContext, who: string, method: "password" | "provider", sub?: string) {
  const now = context.deps.now();
  const session = { who, method, csrf: randomToken(context), issuedAt: now, seenAt: now };
  context.deps.logger.audit("admin.login", { outcome: "ok", method, ...(sub === undefined ? {} : { sub }) });
  const cookies = [await newSessionCookie(context, session)];
  if (method === "provider") cookies.push(clearLoginCookie(context));
  return seeOther("/admin", cookies);
}

export async function providerStart(context: AdminContext): Promise<Response> {
  if (context.admin?.provider === undefined) return notFound();
  const { location, cookie } = await startProviderLogin(context);
  return new Response(null, { status: 302, headers: { location, "set-cookie": cookie } });
}

export async function providerCallback(context: AdminContext, request: Request): Promise<Response> {
  if (context.admin?.provider === undefined) return notFound();
  const result = await finishProviderLogin(context, request);
  if (result.ok) return signIn(context, result.who, "provider", result.sub);
  context.deps.logger.audit("auth.failed", {
    reason: result.reason,
    outcome: "refused",
    ...(result.sub === undefined ? {} : { sub: result.sub }),
  });
  const response = await loginPage(context, request, [
    403,
    "Sign-in failed or this account is not an admin.",
  ]);
  response.headers.append("set-cookie", clearLoginCookie(context));
  return response;
}

/** Logout needs the session's CSRF token: otherwise any site could sign the admin out. */
export async function logout(context: AdminContext, request: Request): Promise<Response> {
  const session = await currentSession(context, request.clone());
  const form = await readForm(request);
  if (session !== undefined && !constantTimeEqual(form.get("csrf") ?? "", session.csrf)) {
    context.deps.logger.audit("auth.failed", { reason: "admin_csrf", outcome: "refused" });
    return plain("The form expired: reload the page and try again. You are still signed in.", 403);
  }
  if (session !== undefined)
    context.deps.logger.audit("admin.logout", { outcome: "ok", method: session.method });
  const cleared = clearCookie(sessionCookieName(context.secure), {
    secure: context.secure,
    sameSite: "Strict",
  });
  return seeOther("/admin/login", [cleared]);
}

/**
 * The Access page's data and its one action (issue #15): recent logins, active revocations, and
 * POST /admin/access/revoke, which needs the session and its CSRF token like every admin form.
 */
import type { AccessData, RuleView } from "../../../ui/admin/access.tsx";
import { revoke } from "../../broker/revoke.ts";
import type { RevocationRule, RevocationTarget } from "../../core/access/revocation.ts";
import { parseTarget, TargetError } from "../../core/access/revocation-target.ts";
import { constantTimeEqual } from "../../core/secret.ts";
import { readForm } from "../shared/form.ts";
import { plain, redirect } from "../shared/reply.ts";
import type { AdminContext } from "./context.ts";
import { currentSession } from "./routes.tsx";

/** The page shows the newest logins; the store keeps more. */
const SHOWN_LOGINS = 200;

export async function accessData(context: AdminContext): Promise<AccessData> {
  const access = context.access;
  if (access === undefined) return { logins: [], rules: [], providers: [] };
  const now = context.now();
  const [logins, rules] = await Promise.all([
    access.logins.logins(SHOWN_LOGINS, now),
    access.revocations.rulesFromStore(),
  ]);
  const revoked = new Set(rules.flatMap((rule) => ("login" in rule.target ? [rule.target.login] : [])));
  return {
    logins: logins.map((login) => ({ ...login, revoked: revoked.has(login.sid) })),
    rules: rules.map(ruleView).reverse(),
    providers: [...access.providers.keys()],
  };
}

function ruleView(rule: RevocationRule): RuleView {
  const { target } = rule;
  const [scope, text] =
    "login" in target
      ? ["login", target.login]
      : "workload" in target
        ? ["workload", target.workload]
        : "sub" in target
          ? ["person", `${target.sub} at ${target.provider}`]
          : ["provider", target.provider];
  return { id: rule.id, scope, target: text, by: rule.by, createdAt: rule.createdAt };
}

const SCOPE_FIELDS: Record<string, readonly string[]> = {
  login: ["login"],
  workload: ["workload"],
  sub: ["sub", "provider"],
  provider: ["provider"],
};

/** The form's `scope` names which fields make the target; any other field is ignored. */
function targetOf(form: ReadonlyMap<string, string>): RevocationTarget {
  const fields = SCOPE_FIELDS[form.get("scope") ?? ""];
  if (fields === undefined) throw new TargetError("unknown scope");
  return parseTarget(Object.fromEntries(fields.map((name) => [name, form.get(name)?.trim() ?? ""])));
}

export async function revokeRoute(context: AdminContext, request: Request): Promise<Response> {
  const session = await currentSession(context, request.clone());
  if (session === undefined) return redirect("/admin/login", 303);
  const form = await readForm(request);
  if (!constantTimeEqual(form.get("csrf") ?? "", session.csrf)) {
    context.logger.audit("auth.failed", { reason: "admin_csrf", outcome: "refused" });
    return plain("The form expired: reload the page and try again. Nothing was revoked.", 403);
  }
  const access = context.access;
  if (access === undefined) return plain("Revocation is not available on this instance.", 404);
  let target: RevocationTarget;
  try {
    target = targetOf(form);
  } catch (error) {
    const why = error instanceof TargetError ? error.message : "not understood";
    return plain(`Nothing was revoked: ${why}. Go back and correct the form.`, 400);
  }
  if ("provider" in target && !access.providers.has(target.provider)) {
    return plain(
      "Nothing was revoked: that provider is not configured. Go back and pick one from the list.",
      400,
    );
  }
  const by = session.method === "password" ? "admin (password)" : session.who;
  await revoke(access, target, by);
  return redirect("/admin/access", 303);
}

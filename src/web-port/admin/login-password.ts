/**
 * Password login: the configured value is a Bun.password hash (argon2id/bcrypt), so the password
 * itself is stored nowhere; verification takes the hash's own fixed cost whatever the input, so
 * timing says nothing about how close a guess was. Wrong passwords are rate-limited per client
 * address (the hash cost alone would still allow thousands of guesses an hour), and the login form
 * carries the web port's double-submit CSRF token, so another site cannot log a browser in.
 */
import { csrfValid } from "../shared/csrf.ts";
import { readForm } from "../shared/form.ts";
import type { AdminContext } from "./context.ts";

/** Longer inputs are not passwords; hashing them would only cost CPU. */
const MAX_PASSWORD = 1024;
export const LOGIN_CSRF_SCOPE = "surrogate-admin-login";

export type PasswordOutcome = "ok" | "csrf" | "rate_limited" | "wrong" | "disabled";

export async function checkPassword(
  context: AdminContext,
  request: Request,
  client: string,
): Promise<PasswordOutcome> {
  const hash = context.admin?.passwordHash;
  if (hash === undefined) return "disabled";
  const form = await readForm(request);
  if (!csrfValid(request, context.secure, LOGIN_CSRF_SCOPE, form.get("csrf") ?? "")) return "csrf";
  const now = context.now();
  if (context.limiter.blocked(client, now)) return "rate_limited";
  const password = form.get("password") ?? "";
  if (password.length === 0 || password.length > MAX_PASSWORD || !(await verify(password, hash.reveal()))) {
    context.limiter.miss(client, now);
    return "wrong";
  }
  return "ok";
}

async function verify(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    // A malformed hash is a configuration problem; it must never let anyone in.
    return false;
  }
}

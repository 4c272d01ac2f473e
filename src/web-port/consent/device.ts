/**
 * GET /device (the code form), GET /device?user_code=… (the consent page) and GET /device/time
 * (the countdown fragment htmx polls).
 */

import { ConsentPage } from "../../../ui/consent.tsx";
import { DeviceForm } from "../../../ui/device-form.tsx";
import { TimeLeft } from "../../../ui/time-left.tsx";
import { formatUserCode, normalizeUserCode } from "../../broker/codes.ts";
import type { GrantRecord } from "../../broker/rendezvous/store.ts";
import { csrfContext, csrfToken } from "../shared/csrf.ts";
import type { WebContext } from "./deps.ts";
import {
  ALREADY_ANSWERED,
  htmlResponse,
  messageResponse,
  NOT_FOUND_OR_EXPIRED,
  TOO_MANY_GUESSES,
} from "./pages.ts";

/** Our grant ids are 16 random bytes in base64url; anything else is not looked up. */
export const GRANT_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** What we echo back of a malformed entry, so the person sees their typo (escaped). */
const MAX_ECHO = 32;

export async function deviceRoute(context: WebContext, request: Request, client: string): Promise<Response> {
  const typed = new URL(request.url).searchParams.get("user_code");
  if (typed === null || typed.trim() === "") return htmlResponse(DeviceForm({}));
  const now = context.deps.now();
  if (context.limiter.blocked(client, now)) return messageResponse(TOO_MANY_GUESSES);
  const code = normalizeUserCode(typed);
  if (code === undefined) {
    // Malformed entries count too: the limit is on lookups that fail, whatever the reason.
    context.limiter.miss(client, now);
    const form = DeviceForm({ previous: typed.slice(0, MAX_ECHO), problem: "That is not a valid code." });
    return htmlResponse(form, 400);
  }
  const grant = await context.deps.store.getByUserCode(code, now);
  if (grant === undefined) {
    context.limiter.miss(client, now);
    return messageResponse(NOT_FOUND_OR_EXPIRED);
  }
  if (grant.status !== "pending") return messageResponse(ALREADY_ANSWERED);
  return consentResponse(context, request, grant, now);
}

function consentResponse(context: WebContext, request: Request, grant: GrantRecord, now: number) {
  const csrf = csrfContext(request, context.secure, context.randomBytes);
  const page = ConsentPage({
    grantId: grant.id,
    workload: grant.workload,
    fingerprint: grant.fingerprint,
    provider: grant.provider,
    scopes: grant.scope,
    userCode: formatUserCode(grant.userCode),
    remainingMs: grant.expiresAt - now,
    csrfToken: csrfToken(csrf.cookie, grant.id),
  });
  return htmlResponse(page, 200, csrf.setCookie === undefined ? {} : { "set-cookie": csrf.setCookie });
}

/** Looked up by the 128-bit grant id, not the user code, so polling is no guessing oracle. */
export async function timeLeftRoute(context: WebContext, request: Request): Promise<Response> {
  const id = new URL(request.url).searchParams.get("grant") ?? "";
  const now = context.deps.now();
  const grant = GRANT_ID.test(id) ? await context.deps.store.getById(id, now) : undefined;
  const fragment = TimeLeft({
    grantId: grant?.id ?? "",
    remainingMs: grant === undefined ? 0 : grant.expiresAt - now,
    waiting: grant === undefined || grant.status === "pending",
  });
  return htmlResponse(fragment);
}

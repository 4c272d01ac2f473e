/**
 * GET /device (the code form), GET /device?user_code=… (the consent page) and GET /device/time
 * (the countdown fragment htmx polls).
 */

import { ConsentPage } from "../../../ui/consent.tsx";
import { DeviceForm } from "../../../ui/device-form.tsx";
import { TimeLeft } from "../../../ui/time-left.tsx";
import { formatUserCode, normalizeUserCode } from "../../broker/codes.ts";
import type { GrantRecord, GrantStatus } from "../../broker/rendezvous/store.ts";
import { csrfContext, csrfToken } from "../shared/csrf.ts";
import { addCookie, type ReplySet } from "../shared/reply.ts";
import type { ConsentContext } from "./context.ts";
import { answered, messagePage, NOT_FOUND_OR_EXPIRED, TOO_MANY_GUESSES } from "./pages.ts";
import { signInName, upstreamLabel } from "./provider-view.ts";

/** Our grant ids are 16 random bytes in base64url; anything else is not looked up. */
export const GRANT_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** What we echo back of a malformed entry, so the person sees their typo (escaped). */
const MAX_ECHO = 32;

export async function deviceRoute(
  context: ConsentContext,
  request: Request,
  set: ReplySet,
  client: string,
): Promise<JSX.Element> {
  const typed = new URL(request.url).searchParams.get("user_code");
  if (typed === null || typed.trim() === "") return DeviceForm({});
  const now = context.now();
  if (context.limiter.blocked(client, now)) return messagePage(set, TOO_MANY_GUESSES);
  const code = normalizeUserCode(typed);
  if (code === undefined) {
    // Malformed entries count too: the limit is on lookups that fail, whatever the reason.
    context.limiter.miss(client, now);
    set.status = 400;
    return DeviceForm({ previous: typed.slice(0, MAX_ECHO), problem: "That is not a valid code." });
  }
  const grant = await context.store.getByUserCode(code, now);
  if (grant === undefined) {
    context.limiter.miss(client, now);
    return messagePage(set, NOT_FOUND_OR_EXPIRED);
  }
  if (grant.status !== "pending")
    return messagePage(set, outcomeOf(context, { ...grant, status: grant.status }));
  return consentPage(context, request, set, grant, now);
}

function consentPage(
  context: ConsentContext,
  request: Request,
  set: ReplySet,
  grant: GrantRecord,
  now: number,
): JSX.Element {
  const csrf = csrfContext(request, context.secure, context.randomBytes);
  if (csrf.setCookie !== undefined) addCookie(set, csrf.setCookie);
  const provider = context.providers.get(grant.provider);
  return ConsentPage({
    grantId: grant.id,
    workload: grant.workload,
    fingerprint: grant.fingerprint,
    provider: grant.provider,
    signIn: provider === undefined ? grant.provider : signInName(provider),
    upstreams: provider === undefined ? [] : provider.upstreams.map(upstreamLabel),
    scopes: grant.scope,
    userCode: formatUserCode(grant.userCode),
    remainingMs: grant.expiresAt - now,
    csrfToken: csrfToken(csrf.cookie, grant.id),
  });
}

/** Reloading the consent page after the person decided: what happened, in words, not a 409. */
function outcomeOf(
  context: ConsentContext,
  grant: GrantRecord & { status: Exclude<GrantStatus, "pending"> },
) {
  const provider = context.providers.get(grant.provider);
  return answered(grant.status, provider === undefined ? grant.provider : signInName(provider));
}

/** Looked up by the 128-bit grant id, not the user code, so polling is no guessing oracle. */
export async function timeLeftRoute(context: ConsentContext, request: Request): Promise<JSX.Element> {
  const id = new URL(request.url).searchParams.get("grant") ?? "";
  const now = context.now();
  const grant = GRANT_ID.test(id) ? await context.store.getById(id, now) : undefined;
  return TimeLeft({
    grantId: grant?.id ?? "",
    remainingMs: grant === undefined ? 0 : grant.expiresAt - now,
    waiting: grant === undefined || grant.status === "pending",
  });
}

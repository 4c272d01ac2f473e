/**
 * Admin sessions: a sealed cookie (src/core/token/seal.ts, its own `typ`) holding who signed in, a CSRF token for the forms,
 * and two clocks. `seenAt` moves on each page the person opens, so the session ends after
 * `[admin] session_idle` without activity; background polling does not move it, so an open tab
 * left alone still times out. `issuedAt` caps the session at 12 h whatever the activity.
 * Cookie: `__Host-` (host-locked, RFC 6265bis §4.1.3.2) and Secure on https, HttpOnly, SameSite=Strict
 * (never sent on cross-site requests, so a link from elsewhere cannot ride the session).
 */
import type { KeySets } from "../../core/keys/types.ts";
import { sealJson } from "../../core/token/seal.ts";
import { unsealJson } from "../../core/token/unseal.ts";
import { cookieName, readCookie, serializeCookie } from "../shared/cookies.ts";

export interface AdminSession {
  /** `password`, or the IdP subject as `sub:<sub>` (with the email when known, for display). */
  who: string;
  method: "password" | "provider";
  /** Random, base64url: the forms' CSRF token (synchroniser token bound to this session). */
  csrf: string;
  /** Epoch ms. */
  issuedAt: number;
  seenAt: number;
}

export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
const TYP = "surrogate-admin-session+jwe";
/** Admin cookies hold a few short fields; anything far larger is not ours and is not decrypted. */
export const MAX_ADMIN_SEALED = 4096;

export function sessionCookieName(secure: boolean): string {
  return cookieName("surrogate-admin", secure);
}

export async function sessionCookie(
  session: AdminSession,
  keys: KeySets,
  options: { secure: boolean; idleSeconds: number },
): Promise<string> {
  const value = await sealJson(session, keys, TYP);
  return serializeCookie(sessionCookieName(options.secure), value, {
    maxAge: options.idleSeconds,
    secure: options.secure,
    sameSite: "strict",
  });
}

/** The request's session when intact, not idle longer than `idleMs`, and younger than 12 h. */
export async function readSession(
  request: Request,
  keys: KeySets,
  options: { secure: boolean; idleMs: number; now: number },
): Promise<AdminSession | undefined> {
  const sealed = readCookie(request, sessionCookieName(options.secure));
  if (sealed === undefined) return undefined;
  const value = await unsealJson(sealed, TYP, keys, MAX_ADMIN_SEALED);
  if (value === undefined) return undefined;
  const { who, method, csrf, issuedAt, seenAt } = value;
  if (typeof who !== "string" || typeof csrf !== "string") return undefined;
  if (method !== "password" && method !== "provider") return undefined;
  if (typeof issuedAt !== "number" || typeof seenAt !== "number") return undefined;
  if (options.now - seenAt >= options.idleMs || options.now - issuedAt >= SESSION_MAX_AGE_MS)
    return undefined;
  if (seenAt > options.now + 60_000) return undefined;
  return { who, method, csrf, issuedAt, seenAt };
}

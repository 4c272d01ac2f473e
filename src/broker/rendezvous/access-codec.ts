/**
 * RevocationRule and LoginRecord ⇄ JSON for Redis. What comes back is checked field by field: a
 * corrupted or foreign value must neither reach the admin page nor decide a request. A stored rule
 * that does not decode is refused loudly by the caller rather than skipped (skipping would un-revoke).
 */
import type { RevocationRule } from "../../core/access/revocation.ts";
import { parseTarget } from "../../core/access/revocation-target.ts";
import { RendezvousError } from "../../core/errors.ts";
import type { LoginRecord } from "./access-store.ts";
import { parseStoredObject } from "./stored-json.ts";

export function decodeRule(json: string): RevocationRule {
  const value = parseStoredObject(json, () => malformed("record"));
  const { id, by, notBefore, createdAt, expiresAt } = value;
  if (typeof id !== "string" || typeof by !== "string") throw malformed("revocation");
  if (![notBefore, createdAt, expiresAt].every(Number.isFinite)) throw malformed("revocation");
  let target: RevocationRule["target"];
  try {
    target = parseTarget(value.target);
  } catch {
    throw malformed("revocation");
  }
  return {
    id,
    by,
    target,
    notBefore: notBefore as number,
    createdAt: createdAt as number,
    expiresAt: expiresAt as number,
  };
}

const LOGIN_TEXT = ["sid", "workload", "fingerprint", "provider", "scope"] as const;

export function decodeLogin(json: string): LoginRecord {
  const value = parseStoredObject(json, () => malformed("record"));
  const textOk = LOGIN_TEXT.every((field) => typeof value[field] === "string");
  const timesOk = Number.isFinite(value.issuedAt) && Number.isFinite(value.expiresAt);
  if (!textOk || !timesOk || (value.sub !== undefined && typeof value.sub !== "string"))
    throw malformed("login");
  const record = value as unknown as LoginRecord;
  return {
    sid: record.sid,
    workload: record.workload,
    fingerprint: record.fingerprint,
    provider: record.provider,
    ...(record.sub === undefined ? {} : { sub: record.sub }),
    scope: record.scope,
    issuedAt: record.issuedAt,
    expiresAt: record.expiresAt,
  };
}

function malformed(what: string): RendezvousError {
  return new RendezvousError("server_error", `rendezvous: a stored ${what} is malformed`);
}

/**
 * GrantRecord ⇄ JSON for stores outside the process. The JSON is sealed before it leaves (see
 * record-seal.ts); what opens is still checked field by field, so a record written by an older or
 * buggy version cannot reach the consent page half-formed.
 */
import type { WrapperBindings } from "../../core/access/binding.ts";
import { RendezvousError } from "../../core/errors.ts";
import { isRecord } from "../../core/token/compact.ts";
import { BINDINGS_OF, type Binding, type WrapperKind } from "../../core/token/types.ts";
import type { GrantRecord, GrantStatus } from "./store.ts";
import { parseStoredObject } from "./stored-json.ts";

const STATUSES: readonly string[] = ["pending", "approved", "denied", "complete"] satisfies GrantStatus[];
const TEXT_FIELDS = [
  "id",
  "deviceKey",
  "userCode",
  "provider",
  "workload",
  "thumbprint",
  "fingerprint",
] as const;
const NUMBER_FIELDS = ["createdAt", "expiresAt", "interval"] as const;

export function encodeGrant(grant: GrantRecord): string {
  return JSON.stringify(grant);
}

function isGrantStatus(value: unknown): value is GrantStatus {
  return typeof value === "string" && STATUSES.includes(value);
}

export function decodeGrant(json: string): GrantRecord {
  const value = parseStoredObject(json, malformed);
  const status = value.status;
  if (!isGrantStatus(status)) throw malformed();
  const fieldsOk =
    TEXT_FIELDS.every((field) => typeof value[field] === "string") &&
    NUMBER_FIELDS.every((field) => Number.isFinite(value[field])) &&
    Array.isArray(value.scope) &&
    value.scope.every((item: unknown) => typeof item === "string");
  if (!fieldsOk) throw malformed();
  const grant = value as unknown as GrantRecord;
  return {
    id: grant.id,
    deviceKey: grant.deviceKey,
    userCode: grant.userCode,
    provider: grant.provider,
    scope: [...grant.scope],
    workload: grant.workload,
    thumbprint: grant.thumbprint,
    fingerprint: grant.fingerprint,
    bindings: bindingsOf(value.bindings),
    createdAt: grant.createdAt,
    expiresAt: grant.expiresAt,
    interval: grant.interval,
    status,
  };
}

/** Each binding one its wrapper kind may carry (the mint refuses others, so refuse them here first). */
function bindingsOf(value: unknown): WrapperBindings {
  if (!isRecord(value) || !Number.isFinite(value.certificateNotAfter)) throw malformed();
  return {
    access: bindingOf(value.access, "access"),
    refresh: bindingOf(value.refresh, "refresh"),
    certificateNotAfter: value.certificateNotAfter as number,
  };
}

function bindingOf(value: unknown, kind: WrapperKind): Binding {
  if (!isRecord(value) || typeof value.value !== "string") throw malformed();
  const allowed = BINDINGS_OF[kind].find((candidate) => candidate === value.kind);
  if (allowed === undefined) throw malformed();
  return { kind: allowed, value: value.value };
}

function malformed(): RendezvousError {
  return new RendezvousError("server_error", "rendezvous store holds a malformed grant record");
}

/** A revocation target from outside (the admin API's JSON body, a stored rule): checked, never trusted. */
import { MAX_TARGET_LENGTH, type RevocationTarget } from "./revocation.ts";

export class TargetError extends Error {}

const SHAPES: readonly (readonly string[])[] = [["login"], ["workload"], ["provider", "sub"], ["provider"]];

/**
 * Exactly one of `{"login"}`, `{"workload"}`, `{"sub","provider"}`, `{"provider"}`: a body with
 * extra or mixed members is refused rather than read as the widest or narrowest rule it could mean.
 */
export function parseTarget(value: unknown): RevocationTarget {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TargetError("body must be a JSON object");
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).sort();
  if (!SHAPES.some((shape) => shape.length === members.length && shape.every((m, i) => members[i] === m))) {
    throw new TargetError(
      'must hold exactly one of {"login"}, {"workload"}, {"sub", "provider"}, {"provider"}',
    );
  }
  for (const member of members) text(record[member], member);
  return record as RevocationTarget;
}

function text(value: unknown, member: string): string {
  if (typeof value !== "string" || value === "")
    throw new TargetError(`${member}: must be a non-empty string`);
  if (value.length > MAX_TARGET_LENGTH) throw new TargetError(`${member}: longer than ${MAX_TARGET_LENGTH}`);
  // Control characters and spaces never occur in a SPIFFE ID, a login id or a provider name.
  if (/[\s\p{Cc}]/u.test(value) && member !== "sub") throw new TargetError(`${member}: contains whitespace`);
  if (/\p{Cc}/u.test(value)) throw new TargetError(`${member}: contains control characters`);
  return value;
}

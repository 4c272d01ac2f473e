/**
 * The first check on a record read back from a store outside the process: it must be a JSON
 * object. The codecs then check it field by field; each names its own record in `malformed`.
 */
import { isRecord } from "../../core/token/compact.ts";

export function parseStoredObject(json: string, malformed: () => Error): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw malformed();
  }
  if (!isRecord(value)) throw malformed();
  return value;
}

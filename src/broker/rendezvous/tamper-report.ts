/**
 * Audits records in the rendezvous store that fail to open or do not belong where they were found.
 * Such a record reads as absent on every lookup, so a person retrying a page or an agent polling
 * every few seconds would repeat the line forever: each key is reported once per process, within a
 * bounded memory of keys already reported.
 */
import type { Logger } from "../../ops/log/logger.ts";

export type RecordKind = "grant" | "uc" | "dk" | "result" | "revocation" | "login" | "login-secret";

export interface TamperReport {
  record(kind: RecordKind, key: string): void;
}

/** Enough to cover every record of a deployment's live grants; on overflow, memory starts over. */
const REMEMBERED = 4096;

export function createTamperReport(logger: Pick<Logger, "audit"> | undefined): TamperReport {
  const reported = new Set<string>();
  return {
    record(kind, key) {
      if (reported.has(key)) return;
      if (reported.size >= REMEMBERED) reported.clear();
      reported.add(key);
      // The key name is a keyed hash (record-seal.ts): it lets an operator find the record, and
      // tells nobody else anything.
      logger?.audit("rendezvous.tampered", { record: kind, key, outcome: "ignored" });
    },
  };
}

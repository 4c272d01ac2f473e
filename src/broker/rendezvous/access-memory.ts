/** The access store of one process (`rendezvous.url = "memory:"`). Values are copied in and out. */
import type { RevocationRule } from "../../core/access/revocation.ts";
import { RendezvousError } from "../../core/errors.ts";
import { type AccessStore, type LoginRecord, MAX_LOGINS, MAX_RULES } from "./access-store.ts";

interface KeptLogin {
  record: LoginRecord;
  sealed: string | undefined;
}

export function createMemoryAccessStore(): AccessStore {
  const rules = new Map<string, RevocationRule>();
  const logins = new Map<string, KeptLogin>();
  let version = 0;

  const sweep = (now: number) => {
    for (const [id, rule] of rules) if (rule.expiresAt <= now) rules.delete(id);
    for (const [sid, kept] of logins) if (kept.record.expiresAt <= now) logins.delete(sid);
  };
  const live = (sid: string, now: number) => {
    const kept = logins.get(sid);
    return kept !== undefined && kept.record.expiresAt > now ? kept : undefined;
  };

  return {
    backend: "memory",
    async addRevocation(rule, now) {
      sweep(now);
      if (rules.size >= MAX_RULES) throw tooMany();
      rules.set(rule.id, structuredClone(rule));
      version += 1;
    },
    async revocations(now) {
      sweep(now);
      return [...rules.values()].map((rule) => structuredClone(rule));
    },
    async revocationVersion() {
      return String(version);
    },
    async recordLogin(login, sealed, now) {
      sweep(now);
      // Maps keep insertion order: the oldest login goes first when the cap is reached.
      while (logins.size >= MAX_LOGINS) logins.delete(logins.keys().next().value as string);
      logins.set(login.sid, { record: structuredClone(login), sealed });
    },
    async updateLoginSecret(sid, sealed, now) {
      const kept = live(sid, now);
      if (kept !== undefined) kept.sealed = sealed;
    },
    async getLogin(sid, now) {
      const kept = live(sid, now);
      return kept === undefined ? undefined : structuredClone(kept.record);
    },
    async loginSecret(sid, now) {
      return live(sid, now)?.sealed;
    },
    async logins(limit, now) {
      sweep(now);
      const newest = [...logins.values()].map((kept) => kept.record).sort((a, b) => b.issuedAt - a.issuedAt);
      return newest.slice(0, Math.max(0, limit)).map((record) => structuredClone(record));
    },
    async close() {},
  };
}

export function tooMany(): RendezvousError {
  return new RendezvousError("rate_limited", `rendezvous: more than ${MAX_RULES} active revocations`);
}

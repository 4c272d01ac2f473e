/**
 * Refused agent-port connections: every one is counted (for /metrics), but a flood must not flood
 * the log too, so each source — as the budget counts it: an IPv4 address or an IPv6 /64, so a
 * subnet's many addresses are one source here too — gets at most one `connection.refused` line a
 * minute.
 */
import { sourceKey } from "../core/http/address.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { Refusal } from "./connection-budget.ts";

const QUIET_MS = 60_000;
/** Sources remembered; past this, those logged more than a minute ago are forgotten first. */
const REMEMBERED = 10_000;

export interface RefusalLog {
  refused(reason: Refusal, remoteAddress: string): void;
}

export function createRefusalLog(
  logger: Pick<Logger, "audit">,
  now: () => number,
  count: (reason: Refusal) => void = () => {},
): RefusalLog {
  const lastLogged = new Map<string, number>();
  return {
    refused(reason, remoteAddress) {
      count(reason);
      const source = sourceKey(remoteAddress);
      const at = now();
      const last = lastLogged.get(source);
      if (last !== undefined && at - last < QUIET_MS) return;
      if (lastLogged.size >= REMEMBERED) forgetQuiet(lastLogged, at);
      lastLogged.delete(source);
      lastLogged.set(source, at);
      logger.audit("connection.refused", { reason, remote: source, outcome: "refused" });
    },
  };
}

/** Insertion order is logging order: the oldest entries come first. */
function forgetQuiet(lastLogged: Map<string, number>, at: number): void {
  for (const [source, when] of lastLogged) {
    if (at - when < QUIET_MS && lastLogged.size < REMEMBERED) return;
    lastLogged.delete(source);
  }
}

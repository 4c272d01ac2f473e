/**
 * `bun scripts/bench/access.ts [iterations]`: what the per-use checks of issue #15 cost per proxied
 * request, against the proxy handler's own per-request cost measured in the same run
 * (scripts/bench/handler.ts's path without them is ~34 µs on this machine).
 *   baseline  a call that does nothing (the loop's own cost)
 *   policy    PolicyGate.allows, memoised: the same (workload, provider) as a keep-alive agent sends
 *   policy, unmemoised  isAllowed over the same rules (what every request would cost without the memo)
 *   revoked?  RevocationList.revoking with N rules of every scope (a miss: the common case)
 */

import { isAllowed } from "../../src/core/access/policy.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { newRule, type WrapperFacts } from "../../src/core/access/revocation.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import type { PolicyRule } from "../../src/core/config/types.ts";

const ITERATIONS = Number(process.argv[2] ?? 2_000_000);
const RULES = 200;
const now = Date.now();

const policy: PolicyRule[] = Array.from({ length: RULES }, (_, i) => ({
  workload: `spiffe://corp.example/team-${i}/**`,
  providers: ["github", "google"],
}));
const workload = `spiffe://corp.example/team-${RULES - 1}/agents/build-7`;
const gate = new PolicyGate(policy);

const revocations = new RevocationList();
for (let i = 0; i < RULES; i += 1) {
  revocations.add(newRule({ login: `sid-${i}` }, "bench", now), now);
  revocations.add(newRule({ workload: `spiffe://corp.example/retired-${i}/**` }, "bench", now), now);
  revocations.add(newRule({ sub: `user-${i}`, provider: "github" }, "bench", now), now);
}
revocations.add(newRule({ provider: "legacy" }, "bench", now), now);
const facts: WrapperFacts = {
  sid: "live-login",
  iat: Math.floor(now / 1000) + 1,
  provider: "github",
  sub: "alice",
  workload,
};

/** The unmemoised policy runs the glob automaton over every rule: a hundredth of the calls suffice. */
function nsPerCall(work: () => unknown, calls = ITERATIONS): number {
  for (let i = 0; i < calls / 10; i += 1) work();
  const start = Bun.nanoseconds();
  for (let i = 0; i < calls; i += 1) work();
  return (Bun.nanoseconds() - start) / calls;
}

const noop = () => undefined;
const rows: [string, number][] = [
  ["baseline (empty call)", nsPerCall(noop)],
  ["policy, memoised (PolicyGate.allows)", nsPerCall(() => gate.allows(workload, "github"))],
  [
    `policy, unmemoised (isAllowed, ${RULES} rules)`,
    nsPerCall(() => isAllowed(policy, workload, "github"), ITERATIONS / 100),
  ],
  [`revocation check (${3 * RULES + 1} rules, no match)`, nsPerCall(() => revocations.revoking(facts))],
];
const base = rows[0]![1];
console.log(`Bun ${Bun.version}; ${ITERATIONS} calls each (unmemoised policy: ${ITERATIONS / 100})\n`);
console.log("| check | ns / call | − baseline ns |\n|---|---|---|");
for (const [name, ns] of rows) console.log(`| ${name} | ${ns.toFixed(1)} | ${(ns - base).toFixed(1)} |`);

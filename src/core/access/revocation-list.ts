/**
 * The revocation rules an instance knows, indexed so that the check on every proxied request and
 * every refresh costs a few map lookups, whatever the number of rules (docs/benchmarks.md).
 */
import { globMatches } from "./policy.ts";
import type { RevocationRule, WrapperFacts } from "./revocation.ts";

/** What the proxy and the token endpoint ask. */
export interface RevocationView {
  /** The rule refusing this wrapper, if any. */
  revoking(facts: WrapperFacts): RevocationRule | undefined;
}

/** Workload answers remembered per rule set; bounded like the policy memo. */
const MAX_REMEMBERED = 10_000;

export class RevocationList implements RevocationView {
  #rules: RevocationRule[] = [];
  readonly #byLogin = new Map<string, RevocationRule>();
  readonly #byProvider = new Map<string, RevocationRule>();
  /** provider → sub → rule; nested so no separator can make two people collide. */
  readonly #bySub = new Map<string, Map<string, RevocationRule>>();
  #workloadRules: RevocationRule[] = [];
  readonly #byWorkload = new Map<string, RevocationRule | null>();

  /** Replaces every rule; rules past `expiresAt` at `now` are dropped. */
  replace(rules: readonly RevocationRule[], now: number): void {
    this.#rules = rules.filter((rule) => rule.expiresAt > now);
    this.#byLogin.clear();
    this.#byProvider.clear();
    this.#bySub.clear();
    this.#byWorkload.clear();
    this.#workloadRules = [];
    for (const rule of this.#rules) this.#index(rule);
  }

  add(rule: RevocationRule, now: number): void {
    if (this.#rules.some((known) => known.id === rule.id)) return;
    this.replace([...this.#rules, rule], now);
  }

  get rules(): readonly RevocationRule[] {
    return this.#rules;
  }

  revoking(facts: WrapperFacts): RevocationRule | undefined {
    const candidates = [
      this.#byLogin.get(facts.sid),
      this.#byProvider.get(facts.provider),
      facts.sub === undefined ? undefined : this.#bySub.get(facts.provider)?.get(facts.sub),
      this.#forWorkload(facts.workload),
    ];
    return candidates.find((rule) => rule !== undefined && facts.iat <= rule.notBefore);
  }

  /** Per key, the rule with the latest notBefore: it refuses everything the earlier ones do. */
  #index(rule: RevocationRule): void {
    const { target } = rule;
    if ("login" in target) keepLatest(this.#byLogin, target.login, rule);
    else if ("workload" in target) this.#workloadRules.push(rule);
    else if ("sub" in target) {
      const people = this.#bySub.get(target.provider) ?? new Map<string, RevocationRule>();
      this.#bySub.set(target.provider, people);
      keepLatest(people, target.sub, rule);
    } else keepLatest(this.#byProvider, target.provider, rule);
  }

  #forWorkload(workload: string): RevocationRule | undefined {
    if (this.#workloadRules.length === 0) return undefined;
    const known = this.#byWorkload.get(workload);
    if (known !== undefined) return known ?? undefined;
    let latest: RevocationRule | undefined;
    for (const rule of this.#workloadRules) {
      const glob = "workload" in rule.target ? rule.target.workload : "";
      if (globMatches(glob, workload) && (latest === undefined || rule.notBefore > latest.notBefore))
        latest = rule;
    }
    if (this.#byWorkload.size >= MAX_REMEMBERED) this.#byWorkload.clear();
    this.#byWorkload.set(workload, latest ?? null);
    return latest;
  }
}

function keepLatest(index: Map<string, RevocationRule>, key: string, rule: RevocationRule): void {
  const known = index.get(key);
  if (known === undefined || rule.notBefore > known.notBefore) index.set(key, rule);
}

/**
 * The current `[[policy]]`, asked on every use of a wrapper (issue #15): the token endpoint's
 * refresh and every proxied request, besides grant creation. SIGHUP swaps the rules in place, so a
 * workload removed from the policy is refused from the next request on, whatever wrappers it holds.
 */
import type { PolicyRule } from "../config/types.ts";
import { type BindingChoice, bindingsOf, isAllowed } from "./policy.ts";

/** What the broker and the proxy need from the policy: one yes or no. */
export interface PolicyView {
  allows(workload: string, provider: string): boolean;
}

/** The broker also asks what the wrappers it mints bind (`binding`, `refresh_binding`). */
export interface BrokerPolicy extends PolicyView {
  bindings(workload: string, provider: string): BindingChoice;
}

/**
 * A keep-alive agent asks the same question on every request; answers are remembered per
 * (workload, provider) for the current generation of the rules, so the glob automaton runs once
 * per pair and generation instead of once per request (docs/benchmarks.md). Workloads come from
 * certificates anyone under the client CA can hold, so the memo is bounded: when full it starts
 * over rather than grow.
 */
const MAX_REMEMBERED = 10_000;

export class PolicyGate implements BrokerPolicy {
  #rules: readonly PolicyRule[];
  #generation = 1;
  /** provider → workload → answer; nested, so no separator can make two pairs collide. */
  readonly #answers = new Map<string, Map<string, boolean>>();
  #remembered = 0;

  constructor(rules: readonly PolicyRule[]) {
    this.#rules = rules;
  }

  /** Counts replacements: 1 for the rules the process started with. */
  get generation(): number {
    return this.#generation;
  }

  replace(rules: readonly PolicyRule[]): void {
    this.#rules = rules;
    this.#generation += 1;
    this.#forget();
  }

  /** Asked once per grant and per refresh, not per request: no memo. */
  bindings(workload: string, provider: string): BindingChoice {
    return bindingsOf(this.#rules, workload, provider);
  }

  allows(workload: string, provider: string): boolean {
    const known = this.#answers.get(provider)?.get(workload);
    if (known !== undefined) return known;
    const answer = isAllowed(this.#rules, workload, provider);
    if (this.#remembered >= MAX_REMEMBERED) this.#forget();
    const forProvider = this.#answers.get(provider) ?? new Map<string, boolean>();
    this.#answers.set(provider, forProvider.set(workload, answer));
    this.#remembered += 1;
    return answer;
  }

  #forget(): void {
    this.#answers.clear();
    this.#remembered = 0;
  }
}

/**
 * `[[policy]]`: which workloads may ask for which providers. Default deny: a workload no rule
 * matches gets nothing, so a forgotten rule fails closed.
 */
import type { PolicyRule } from "../config/types.ts";

type GlobToken = { kind: "char"; char: string } | { kind: "star" } | { kind: "globstar" };

function tokenize(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  // By code point, like the subject below, so non-ASCII characters compare whole.
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i += 1) {
    if (chars[i] !== "*") tokens.push({ kind: "char", char: chars[i] ?? "" });
    else if (chars[i + 1] === "*") {
      tokens.push({ kind: "globstar" });
      while (chars[i + 1] === "*") i += 1;
    } else tokens.push({ kind: "star" });
  }
  return tokens;
}

/** Adds every state reachable without consuming input: a star may match nothing. */
function close(states: Set<number>, tokens: GlobToken[]): Set<number> {
  for (const state of states)
    if (tokens[state] !== undefined && tokens[state]?.kind !== "char") states.add(state + 1);
  return states;
}

/**
 * Whole-string glob match. `*` never crosses "/" so `spiffe://corp.example/agents/*` cannot
 * reach into sub-paths; `**` may. Simulated as an automaton (O(length × pattern)) instead of a
 * backtracking regex, so no pattern/workload pair can make a check slow.
 */
export function globMatches(pattern: string, subject: string): boolean {
  const tokens = tokenize(pattern);
  let states = close(new Set([0]), tokens);
  for (const char of subject) {
    const next = new Set<number>();
    for (const state of states) {
      const token = tokens[state];
      if (token === undefined) continue;
      if (token.kind === "globstar" || (token.kind === "star" && char !== "/")) next.add(state);
      else if (token.kind === "char" && token.char === char) next.add(state + 1);
    }
    if (next.size === 0) return false;
    states = close(next, tokens);
  }
  return states.has(tokens.length);
}

/** What the wrappers of one (workload, provider) bind, from `binding` / `refresh_binding` (DESIGN §5). */
export interface BindingChoice {
  access: "certificate" | "key";
  refresh: "certificate" | "spiffe_id";
}

/**
 * The strictest choice among the rules that allow the pair: key binding only when every such rule
 * asks for it, and any one rule pinning `refresh_binding = "certificate"` pins it. A rule written
 * for one workload cannot loosen what another, broader rule keeps strict.
 */
export function bindingsOf(policy: readonly PolicyRule[], workload: string, provider: string): BindingChoice {
  const rules = policy.filter(
    (rule) => rule.providers.includes(provider) && globMatches(rule.workload, workload),
  );
  const keyBound = rules.length > 0 && rules.every((rule) => rule.binding === "key");
  const certificateRefresh = rules.some((rule) => rule.refreshBinding === "certificate");
  return {
    access: keyBound ? "key" : "certificate",
    refresh: certificateRefresh ? "certificate" : "spiffe_id",
  };
}

/** True only when some rule both matches the workload and lists the provider by exact name. */
export function isAllowed(policy: readonly PolicyRule[], workload: string, provider: string): boolean {
  return policy.some((rule) => rule.providers.includes(provider) && globMatches(rule.workload, workload));
}

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

/** True only when some rule both matches the workload and lists the provider by exact name. */
export function isAllowed(policy: readonly PolicyRule[], workload: string, provider: string): boolean {
  return policy.some((rule) => rule.providers.includes(provider) && globMatches(rule.workload, workload));
}

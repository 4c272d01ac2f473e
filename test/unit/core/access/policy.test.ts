import { describe, expect, test } from "bun:test";
import { globMatches, isAllowed } from "../../../../src/core/access/policy.ts";
import { PolicyGate } from "../../../../src/core/access/policy-gate.ts";
import type { PolicyRule } from "../../../../src/core/config/types.ts";

describe("globMatches", () => {
  const agents = "spiffe://corp.example/agents/*";

  test("* matches one path segment", () => {
    expect(globMatches(agents, "spiffe://corp.example/agents/a")).toBe(true);
    expect(globMatches(agents, "spiffe://corp.example/agents/build-bot-7")).toBe(true);
  });

  test("* does not cross a slash, and matching is whole-string", () => {
    expect(globMatches(agents, "spiffe://corp.example/agents/a/b")).toBe(false);
    expect(globMatches(agents, "spiffe://corp.example.evil/agents/a")).toBe(false);
    expect(globMatches(agents, "spiffe://corp.example/agentsX/a")).toBe(false);
    expect(globMatches(agents, "xspiffe://corp.example/agents/a")).toBe(false);
    expect(globMatches(agents, "spiffe://corp.example/agents")).toBe(false);
    expect(globMatches("spiffe://corp.example/agents/a", "spiffe://corp.example/agents/ab")).toBe(false);
    expect(globMatches("spiffe://corp.example/agents/a", "spiffe://corp.example/agents/a")).toBe(true);
  });

  test("* may match an empty segment only where the pattern puts it", () => {
    expect(globMatches(agents, "spiffe://corp.example/agents/")).toBe(true);
    expect(globMatches("spiffe://corp.example/*/x", "spiffe://corp.example/a/b/x")).toBe(false);
  });

  test("** crosses segments", () => {
    const deep = "spiffe://corp.example/agents/**";
    expect(globMatches(deep, "spiffe://corp.example/agents/a/b/c")).toBe(true);
    expect(globMatches(deep, "spiffe://corp.example/agents/a")).toBe(true);
    expect(globMatches(deep, "spiffe://corp.example.evil/agents/a")).toBe(false);
    expect(globMatches("spiffe://corp.example/**/ci", "spiffe://corp.example/x/y/ci")).toBe(true);
    expect(globMatches("spiffe://corp.example/**/ci", "spiffe://corp.example/x/y/cid")).toBe(false);
  });

  test("* inside a segment", () => {
    expect(globMatches("spiffe://corp.example/agents/ci-*", "spiffe://corp.example/agents/ci-42")).toBe(true);
    expect(globMatches("spiffe://corp.example/agents/ci-*", "spiffe://corp.example/agents/cd-42")).toBe(
      false,
    );
    expect(globMatches("spiffe://*.example/agents/a", "spiffe://corp.example/agents/a")).toBe(true);
    expect(globMatches("spiffe://*.example/agents/a", "spiffe://evil/x.example/agents/a")).toBe(false);
  });

  test("other characters are literal, including regex metacharacters", () => {
    expect(globMatches("legacy-agent", "legacy-agent")).toBe(true);
    expect(globMatches("a.b", "axb")).toBe(false);
    expect(globMatches("a+(b)", "a+(b)")).toBe(true);
    expect(globMatches("a?", "ab")).toBe(false);
    expect(globMatches("", "")).toBe(true);
    expect(globMatches("", "a")).toBe(false);
  });

  test("many stars against a long near-miss stays a quick false", () => {
    const pattern = "*a*a*a*a*a*a*a*a*a*a*b";
    expect(globMatches(pattern, "a".repeat(5000))).toBe(false);
    expect(globMatches(`**${pattern}`, `x/${"a".repeat(5000)}`)).toBe(false);
  });
});

describe("isAllowed", () => {
  const policy: PolicyRule[] = [
    { workload: "spiffe://corp.example/agents/*", providers: ["github", "corp"] },
    { workload: "legacy-agent", providers: ["corp"] },
  ];

  test("allows a matching workload for a listed provider", () => {
    expect(isAllowed(policy, "spiffe://corp.example/agents/a", "github")).toBe(true);
    expect(isAllowed(policy, "legacy-agent", "corp")).toBe(true);
  });

  test("denies an unlisted provider for a matching workload", () => {
    expect(isAllowed(policy, "spiffe://corp.example/agents/a", "openai")).toBe(false);
    expect(isAllowed(policy, "legacy-agent", "github")).toBe(false);
    expect(isAllowed(policy, "spiffe://corp.example/agents/a", "GitHub")).toBe(false);
  });

  test("denies workloads no rule matches (default deny)", () => {
    expect(isAllowed(policy, "spiffe://corp.example/agents/a/b", "github")).toBe(false);
    expect(isAllowed(policy, "spiffe://corp.example.evil/agents/a", "github")).toBe(false);
    expect(isAllowed([], "spiffe://corp.example/agents/a", "github")).toBe(false);
  });
});

describe("PolicyGate", () => {
  const rules: PolicyRule[] = [{ workload: "spiffe://corp.example/agents/*", providers: ["github"] }];
  const agent = "spiffe://corp.example/agents/a";

  test("answers as the rules do, both ways, and again from memory", () => {
    const gate = new PolicyGate(rules);
    for (let round = 0; round < 2; round += 1) {
      expect(gate.allows(agent, "github")).toBe(true);
      expect(gate.allows(agent, "google")).toBe(false);
      expect(gate.allows("spiffe://corp.example/other/a", "github")).toBe(false);
    }
  });

  test("replace: a removed rule refuses at once, an added one allows at once (no stale memo)", () => {
    const gate = new PolicyGate(rules);
    expect(gate.allows(agent, "github")).toBe(true);
    expect(gate.allows(agent, "google")).toBe(false);
    gate.replace([{ workload: "spiffe://corp.example/agents/*", providers: ["google"] }]);
    expect(gate.generation).toBe(2);
    expect(gate.allows(agent, "github")).toBe(false);
    expect(gate.allows(agent, "google")).toBe(true);
  });

  test("a provider or workload name with a newline cannot alias another pair", () => {
    const gate = new PolicyGate([{ workload: "a", providers: ["p\na"] }]);
    expect(gate.allows("a", "p\na")).toBe(true);
    expect(gate.allows("a\na", "p")).toBe(false);
  });

  test("past the memo bound it starts over and still answers right", () => {
    const gate = new PolicyGate(rules);
    for (let i = 0; i < 10_050; i += 1)
      expect(gate.allows(`spiffe://corp.example/agents/${i}`, "github")).toBe(true);
    expect(gate.allows("spiffe://corp.example/agents/x/y", "github")).toBe(false);
  });
});

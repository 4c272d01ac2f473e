import { describe, expect, test } from "bun:test";
import { newRule, type RevocationTarget, type WrapperFacts } from "../../../../src/core/access/revocation.ts";
import { RevocationList } from "../../../../src/core/access/revocation-list.ts";
import { parseTarget, TargetError } from "../../../../src/core/access/revocation-target.ts";

const NOW = 1_800_000_000_000;
const T = NOW / 1000;

/** Four wrappers that differ in exactly one fact each from `base`. */
const base: WrapperFacts = {
  sid: "login-a",
  iat: T - 10,
  provider: "github",
  sub: "alice",
  workload: "spiffe://corp.example/agents/a",
};
const others: Record<string, WrapperFacts> = {
  "another login": { ...base, sid: "login-b" },
  "another workload": { ...base, sid: "login-c", workload: "spiffe://corp.example/builders/b" },
  "another person": { ...base, sid: "login-d", sub: "bob" },
  "another provider": { ...base, sid: "login-e", provider: "google" },
};

function listWith(target: RevocationTarget): RevocationList {
  const list = new RevocationList();
  list.add(newRule(target, "test", NOW), NOW);
  return list;
}

describe("RevocationList: each scope refuses exactly the wrappers it matches", () => {
  const cases: [RevocationTarget, string[]][] = [
    [{ login: "login-a" }, ["another workload", "another person", "another provider", "another login"]],
    [{ workload: "spiffe://corp.example/agents/*" }, ["another workload"]],
    [{ sub: "alice", provider: "github" }, ["another person", "another provider"]],
    [{ provider: "github" }, ["another provider"]],
  ];
  for (const [target, spared] of cases) {
    test(JSON.stringify(target), () => {
      const list = listWith(target);
      expect(list.revoking(base)?.target).toEqual(target);
      for (const [name, facts] of Object.entries(others)) {
        expect({ name, revoked: list.revoking(facts) !== undefined }).toEqual({
          name,
          revoked: !spared.includes(name),
        });
      }
    });
  }

  test("not before: a wrapper minted in the rule's second is refused, one minted a second later is not", () => {
    const list = listWith({ provider: "github" });
    expect(list.revoking({ ...base, iat: T })).toBeDefined();
    expect(list.revoking({ ...base, iat: T + 1 })).toBeUndefined();
  });

  test("a sub rule without the provider's match, or a wrapper without sub, is not refused by it", () => {
    const list = listWith({ sub: "alice", provider: "google" });
    expect(list.revoking(base)).toBeUndefined();
    const { sub: _sub, ...anonymous } = base;
    expect(listWith({ sub: "alice", provider: "github" }).revoking(anonymous)).toBeUndefined();
  });

  test("the latest rule per key decides; workload answers are not stale after a new rule", () => {
    const list = new RevocationList();
    list.add(newRule({ workload: "spiffe://corp.example/**" }, "test", NOW - 60_000), NOW);
    expect(list.revoking(base)).toBeUndefined(); // minted after that rule
    list.add(newRule({ workload: "spiffe://corp.example/agents/a" }, "test", NOW), NOW);
    expect(list.revoking(base)).toBeDefined();
  });

  test("expired rules are dropped", () => {
    const list = new RevocationList();
    const rule = newRule({ provider: "github" }, "test", NOW);
    list.replace([rule], rule.expiresAt);
    expect(list.rules).toEqual([]);
    expect(rule.expiresAt - NOW).toBeGreaterThan(366 * 86400 * 1000);
  });
});

describe("parseTarget", () => {
  test("the four shapes are accepted", () => {
    for (const body of [
      { login: "abc" },
      { workload: "spiffe://corp.example/agents/*" },
      { sub: "alice smith", provider: "github" },
      { provider: "github" },
    ]) {
      expect(parseTarget(body)).toEqual(body as RevocationTarget);
    }
  });

  const refused: [unknown, string][] = [
    [null, "JSON object"],
    [[{ login: "a" }], "JSON object"],
    [{}, "exactly one of"],
    [{ login: "a", provider: "github" }, "exactly one of"],
    [{ sub: "alice" }, "exactly one of"],
    [{ workload: "a", extra: 1 }, "exactly one of"],
    [{ login: "" }, "non-empty"],
    [{ login: 7 }, "non-empty string"],
    [{ workload: "spiffe://a/ b" }, "whitespace"],
    [{ sub: "a\u0000", provider: "github" }, "control"],
    [{ provider: "x".repeat(2049) }, "longer"],
  ];
  for (const [body, message] of refused) {
    test(`refuses ${JSON.stringify(body)?.slice(0, 60)}`, () => {
      expect(() => parseTarget(body)).toThrow(TargetError);
      expect(() => parseTarget(body)).toThrow(message);
    });
  }
});

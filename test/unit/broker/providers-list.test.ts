import { beforeAll, describe, expect, test } from "bun:test";
import { createAgentApi } from "../../../src/broker/agent-api.ts";
import { createMemoryStore } from "../../../src/broker/rendezvous/memory.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { parseUpstream } from "../../../src/core/provider/allowlist.ts";
import type { ResolvedProvider } from "../../../src/core/provider/types.ts";
import { formatUpstream } from "../../../src/core/provider/upstream-text.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { agentRequest, brokerParties, scriptedIdp, testConfig, testProvider } from "./fixtures.ts";

let keys: KeySets;
let alpha: ClientIdentity;
let cnOnly: ClientIdentity;
beforeAll(async () => {
  ({ keys, alpha, cnOnly } = await brokerParties());
});

const UPSTREAMS = [
  "api.github.com",
  "files.example.com:8443",
  "*.githubusercontent.com",
  "http://127.0.0.1:8080",
];

const providers = new Map<string, ResolvedProvider>([
  [
    "gh",
    testProvider({
      name: "gh",
      kind: "github",
      oauth: scriptedIdp(),
      upstreams: UPSTREAMS.map((entry) => parseUpstream(entry, "upstreams")),
    }),
  ],
  ["vault", testProvider({ name: "vault", kind: "static" })],
  ["hidden", testProvider({ name: "hidden", oauth: scriptedIdp() })],
]);

function api() {
  const config = testConfig({
    policy: [
      { workload: "spiffe://test.example/agents/*", providers: ["gh", "vault"] },
      { workload: "legacy-agent", providers: ["vault"] },
    ],
  });
  return createAgentApi({
    config,
    policy: new PolicyGate(config.policy),
    revocations: new RevocationList(),
    providers,
    store: createMemoryStore(config.rendezvous),
    keys: () => keys,
    now: Date.now,
    logger: createMemoryLogger(),
  });
}

describe("GET /v1/providers", () => {
  test("lists the providers [[policy]] grants this workload, with their upstream patterns", async () => {
    const response = await api()(agentRequest(alpha, { method: "GET", target: "/v1/providers" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      providers: [
        { name: "gh", kind: "github", upstreams: UPSTREAMS },
        { name: "vault", kind: "static", upstreams: ["api.corp.example"] },
      ],
    });
  });

  test("another workload sees only its own providers; nothing about the others", async () => {
    const response = await api()(agentRequest(cnOnly, { method: "GET", target: "/v1/providers" }));
    const body = (await response.json()) as { providers: Array<{ name: string }> };
    expect(body.providers.map((p) => p.name)).toEqual(["vault"]);
  });

  test("GET only", async () => {
    const response = await api()(agentRequest(alpha, { target: "/v1/providers", body: "" }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
    expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
  });

  test("each pattern reads back as the rule it came from", () => {
    for (const entry of [...UPSTREAMS, "https://a.example:443", "b.example:443", "http://localhost:80"]) {
      const rule = parseUpstream(entry, "upstreams");
      expect(parseUpstream(formatUpstream(rule), "upstreams")).toEqual(rule);
    }
  });
});

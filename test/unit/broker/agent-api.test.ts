import { beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type AgentApiDeps, createAgentApi } from "../../../src/broker/agent-api.ts";
import { deviceKeyOf } from "../../../src/broker/codes.ts";
import { issueWrappers } from "../../../src/broker/issue.ts";
import { DEVICE_CODE_GRANT } from "../../../src/broker/metadata.ts";
import { createMemoryStore } from "../../../src/broker/rendezvous/memory.ts";
import type { RendezvousStore } from "../../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import { RendezvousError } from "../../../src/core/errors.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../../src/core/provider/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { certificateBound } from "../../helpers/bindings.ts";
import { ALPHA_ID } from "../../helpers/pki.ts";
import {
  agentRequest,
  brokerParties,
  form,
  ISSUER,
  type RequestInit,
  scriptedIdp,
  testConfig,
  testProvider,
  upstreamTokens,
} from "./fixtures.ts";

let keys: KeySets;
let alpha: ClientIdentity;
let beta: ClientIdentity;
let cnOnly: ClientIdentity;
beforeAll(async () => {
  ({ keys, alpha, beta, cnOnly } = await brokerParties());
});

const providers = new Map<string, ResolvedProvider>([
  ["corp", testProvider({ oauth: scriptedIdp() })],
  ["vault", testProvider({ name: "vault", kind: "static", scopes: [] })],
  ["gh", testProvider({ name: "gh", kind: "github", scopes: ["repo"], oidc: false, oauth: scriptedIdp() })],
  [
    "ms",
    testProvider({ name: "ms", kind: "microsoft", requiredScopes: ["offline_access"], oauth: scriptedIdp() }),
  ],
]);

let clock: number;
let store: RendezvousStore;
let logger: ReturnType<typeof createMemoryLogger>;
let api: (client: ClientIdentity, init: RequestInit) => Promise<Response>;

/** `storeOf` may wrap the memory store (an outage, say). */
function setup(config = testConfig(), storeOf = (real: RendezvousStore) => real): void {
  store = storeOf(createMemoryStore(config.rendezvous));
  logger = createMemoryLogger();
  const deps: AgentApiDeps = {
    config,
    policy: new PolicyGate(config.policy),
    revocations: new RevocationList(),
    providers,
    store,
    keys: () => keys,
    now: () => clock,
    logger,
  };
  const handler = createAgentApi(deps);
  api = (client, init) => handler(agentRequest(client, init));
}

beforeEach(() => {
  clock = Date.now();
  setup();
});

interface GrantBody {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

async function createGrant(
  client = alpha,
  params: Record<string, string> = { provider: "corp" },
): Promise<GrantBody> {
  const response = await api(client, { target: "/v1/grants", body: form(params) });
  expect(response.status).toBe(200);
  return (await response.json()) as GrantBody;
}

function poll(client: ClientIdentity, deviceCode: string): Promise<Response> {
  return api(client, { body: form({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }) });
}

async function expectError(response: Response, status: number, error: string): Promise<void> {
  expect(response.headers.get("cache-control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description: string };
  expect({ status: response.status, error: body.error }).toEqual({ status, error });
  expect(body.error_description).toBeString();
}

/** What the web callback does once the person approved and the IdP answered. */
async function approveAndDeliver(grant: GrantBody, access = "upstream-access"): Promise<string> {
  const record = await store.getByDeviceKey(deviceKeyOf(grant.device_code), clock);
  if (record === undefined) throw new Error("grant not found");
  expect(await store.transition(record.id, "pending", "approved", clock)).toBe(true);
  const context = {
    provider: providers.get("corp")!,
    bindings: certificateBound(record.thumbprint),
    requestedScope: record.scope,
  };
  const options = { issuer: ISSUER, tokenTtl: 3600, now: clock };
  const { body } = await issueWrappers(upstreamTokens(access), context, keys, options);
  const result = JSON.stringify(body);
  expect(await store.deliver(record.id, result, clock)).toBe(true);
  return result;
}

describe("POST /v1/grants", () => {
  test("answers like an RFC 8628 device authorization endpoint and stores only the device key", async () => {
    const response = await api(alpha, { target: "/v1/grants", body: form({ provider: "corp" }) });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as GrantBody;
    expect(body.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(body.verification_uri).toBe(`${ISSUER}/device`);
    expect(body.verification_uri_complete).toBe(`${ISSUER}/device?user_code=${body.user_code}`);
    expect(body.expires_in).toBe(600);
    expect(body.interval).toBe(5);
    const record = await store.getByUserCode(body.user_code.replace("-", ""), clock);
    expect(record).toMatchObject({
      deviceKey: deviceKeyOf(body.device_code),
      provider: "corp",
      scope: ["openid", "email"],
      workload: ALPHA_ID,
      thumbprint: alpha.thumbprint,
      fingerprint: alpha.fingerprint,
      status: "pending",
      createdAt: clock,
      expiresAt: clock + 600_000,
      interval: 5,
    });
    expect(JSON.stringify(record)).not.toContain(body.device_code);
  });

  test("accepts JSON as well as form, and a requested scope", async () => {
    const response = await api(alpha, {
      target: "/v1/grants",
      contentType: "application/json",
      body: JSON.stringify({ provider: "corp", scope: "openid profile" }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as GrantBody;
    const record = await store.getByDeviceKey(deviceKeyOf(body.device_code), clock);
    expect(record?.scope).toEqual(["openid", "profile"]);
  });

  test("an OIDC provider always gets openid (else no id_token), other providers get the scope as asked", async () => {
    const scopeOf = async (provider: string, scope: string) => {
      const response = await api(alpha, { target: "/v1/grants", body: form({ provider, scope }) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as GrantBody;
      return (await store.getByDeviceKey(deviceKeyOf(body.device_code), clock))?.scope;
    };
    expect(await scopeOf("corp", "profile")).toEqual(["openid", "profile"]);
    expect(await scopeOf("gh", "repo")).toEqual(["repo"]);
  });

  test("a provider's required scopes are added to the agent's own (offline_access: else no refresh token)", async () => {
    const scopeOf = async (scope: string) => {
      const response = await api(alpha, { target: "/v1/grants", body: form({ provider: "ms", scope }) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as GrantBody;
      return (await store.getByDeviceKey(deviceKeyOf(body.device_code), clock))?.scope;
    };
    expect(await scopeOf("User.Read Mail.Read")).toEqual([
      "openid",
      "offline_access",
      "User.Read",
      "Mail.Read",
    ]);
    expect(await scopeOf("offline_access User.Read")).toEqual(["openid", "offline_access", "User.Read"]);
  });

  test("audits the creation without the device code or user code", async () => {
    const body = await createGrant();
    const line = logger.lines.find((l) => l.includes("grant.created"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({
      workload: ALPHA_ID,
      fingerprint: alpha.fingerprint,
      provider: "corp",
      outcome: "created",
    });
    expect(logger.lines.join("\n")).not.toContain(body.device_code);
    expect(logger.lines.join("\n")).not.toContain(body.user_code.replace("-", ""));
  });

  test("a workload the policy does not allow gets 403 access_denied, and nothing is stored", async () => {
    await expectError(
      await api(cnOnly, { target: "/v1/grants", body: form({ provider: "corp" }) }),
      403,
      "access_denied",
    );
    expect(await store.size(clock)).toBe(0);
    expect(logger.lines.some((l) => l.includes("denied_by_policy"))).toBe(true);
    // The refusal names the identity the broker saw (here the CN), so the operator can write the rule.
    const refused = await api(cnOnly, { target: "/v1/grants", body: form({ provider: "corp" }) });
    expect(((await refused.json()) as { error_description: string }).error_description).toBe(
      `no [[policy]] rule allows workload ${cnOnly.workload} to use provider corp`,
    );
    expect(cnOnly.workload).not.toBe("");
    setup(testConfig({ policy: [{ workload: "spiffe://test.example/agents/beta", providers: ["corp"] }] }));
    await expectError(
      await api(alpha, { target: "/v1/grants", body: form({ provider: "corp" }) }),
      403,
      "access_denied",
    );
    expect((await api(beta, { target: "/v1/grants", body: form({ provider: "corp" }) })).status).toBe(200);
  });

  test("unknown, static or missing provider, bad scope: 400 invalid_request", async () => {
    const cases: Record<string, string>[] = [
      { provider: "nope-\nforged-log-line" },
      { provider: "vault" },
      {},
      { provider: "corp", scope: 'a"b' },
    ];
    for (const params of cases) {
      await expectError(
        await api(alpha, { target: "/v1/grants", body: form(params) }),
        400,
        "invalid_request",
      );
    }
    expect(await store.size(clock)).toBe(0);
    expect(logger.lines.join("\n")).not.toContain("forged-log-line");
    expect(logger.lines.filter((line) => line.includes('"outcome":"invalid_request"'))).toHaveLength(4);
  });

  test("the per-workload cap answers 429 rate_limited with Retry-After", async () => {
    setup(testConfig({ rendezvous: { maxPendingPerWorkload: 2 } }));
    await createGrant();
    await createGrant();
    const response = await api(alpha, { target: "/v1/grants", body: form({ provider: "corp" }) });
    expect(response.headers.get("retry-after")).toBe("5");
    await expectError(response, 429, "rate_limited");
    expect(logger.lines.at(-1)).toContain('"outcome":"rate_limited"');
    await createGrant(beta);
  });
});

describe("client_id names the provider (DESIGN §4.1)", () => {
  const grants = (params: Record<string, string>) => api(alpha, { target: "/v1/grants", body: form(params) });

  test("a plain RFC 8628 request, client_id and scope only, is a grant for that provider", async () => {
    const body = await createGrant(alpha, { client_id: "gh", scope: "repo" });
    const record = await store.getByUserCode(body.user_code.replace("-", ""), clock);
    expect(record).toMatchObject({ provider: "gh", scope: ["repo"] });
    expect((await createGrant(alpha, { client_id: "corp", provider: "corp" })).device_code).toBeString();
    // RFC 6749 §3.1: sent without a value is omitted, so `provider` alone decides.
    expect((await createGrant(alpha, { client_id: "", provider: "corp" })).device_code).toBeString();
  });

  test("client_id and provider that differ: 400 invalid_request; an unknown client_id: 401 invalid_client; nothing is stored", async () => {
    await expectError(await grants({ client_id: "gh", provider: "corp" }), 400, "invalid_request");
    await expectError(await grants({ client_id: "nope" }), 401, "invalid_client");
    await expectError(await grants({ client_id: "nope", provider: "corp" }), 401, "invalid_client");
    await expectError(await grants({ client_id: "vault" }), 400, "invalid_request");
    expect(await store.size(clock)).toBe(0);
    expect(logger.lines.filter((line) => line.includes('"outcome":"invalid_client"'))).toHaveLength(2);
  });

  test("the policy applies to a provider named by client_id as to one named by provider", async () => {
    setup(testConfig({ policy: [{ workload: "spiffe://test.example/agents/beta", providers: ["corp"] }] }));
    await expectError(await grants({ client_id: "corp" }), 403, "access_denied");
  });

  test("at the token endpoint client_id must be the grant's provider: another → invalid_grant and nothing consumed; unknown → 401 invalid_client", async () => {
    const grant = await createGrant(alpha, { client_id: "corp" });
    const result = await approveAndDeliver(grant);
    const collect = (clientId: string) =>
      api(alpha, {
        body: form({ grant_type: DEVICE_CODE_GRANT, device_code: grant.device_code, client_id: clientId }),
      });
    await expectError(await collect("gh"), 400, "invalid_grant");
    await expectError(await collect("nope"), 401, "invalid_client");
    expect(logger.lines.some((l) => l.includes("token.refused") && l.includes("client_mismatch"))).toBe(true);
    const response = await collect("corp");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(result);
  });
});

describe("GET /.well-known/oauth-authorization-server (RFC 8414)", () => {
  test("describes the agent API at [agent] public_url", async () => {
    setup(testConfig({ agent: { publicUrl: "https://agents.example.com:9443" } }));
    const response = await api(alpha, { method: "GET", target: "/.well-known/oauth-authorization-server" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("application/json");
    expect(await response.json()).toEqual({
      issuer: "https://agents.example.com:9443",
      device_authorization_endpoint: "https://agents.example.com:9443/v1/grants",
      token_endpoint: "https://agents.example.com:9443/v1/token",
      grant_types_supported: [DEVICE_CODE_GRANT, "refresh_token"],
      token_endpoint_auth_methods_supported: ["none"],
      tls_client_certificate_bound_access_tokens: true,
      response_types_supported: [],
    });
  });

  test("only GET; no OpenID Provider metadata", async () => {
    const post = await api(alpha, { target: "/.well-known/oauth-authorization-server", body: "" });
    expect(post.headers.get("allow")).toBe("GET");
    await expectError(post, 405, "invalid_request");
    const oidc = await api(alpha, { method: "GET", target: "/.well-known/openid-configuration" });
    await expectError(oidc, 404, "invalid_request");
  });
});

describe("rendezvous outages", () => {
  test("a store that is down answers 503 temporarily_unavailable with Retry-After", async () => {
    const down = async (): Promise<never> => {
      throw new RendezvousError("temporarily_unavailable", "rendezvous: backend unreachable");
    };
    setup(testConfig(), (real) => ({ ...real, create: down, getByDeviceKey: down }));
    const created = await api(alpha, { target: "/v1/grants", body: form({ provider: "corp" }) });
    expect(created.headers.get("retry-after")).toBe("5");
    await expectError(created, 503, "temporarily_unavailable");
    await expectError(await poll(alpha, "any-device-code"), 503, "temporarily_unavailable");
  });
});

describe("routing", () => {
  test("only POST; other /v1 paths are 404; the query is ignored for routing", async () => {
    const get = await api(alpha, { method: "GET", target: "/v1/grants" });
    expect(get.headers.get("allow")).toBe("POST");
    await expectError(get, 405, "invalid_request");
    await expectError(await api(alpha, { target: "/v1/other", body: "" }), 404, "invalid_request");
    await expectError(await api(alpha, { target: "/v1/grants/../token", body: "" }), 404, "invalid_request");
    await expectError(await api(alpha, { target: "/v1/Token", body: "" }), 404, "invalid_request");
    const withQuery = await api(alpha, { target: "/v1/grants?x=1", body: form({ provider: "corp" }) });
    expect(withQuery.status).toBe(200);
  });

  test("missing or unknown grant_type; unsupported content type", async () => {
    await expectError(await api(alpha, { body: form({}) }), 400, "invalid_request");
    await expectError(
      await api(alpha, { body: form({ grant_type: "password" }) }),
      400,
      "unsupported_grant_type",
    );
    await expectError(
      await api(alpha, { contentType: "text/plain", body: "grant_type=refresh_token" }),
      400,
      "invalid_request",
    );
    await expectError(await api(alpha, { body: "grant_type=a&grant_type=b" }), 400, "invalid_request");
  });

  test("an oversized body is refused with 413", async () => {
    await expectError(await api(alpha, { body: `x=${"a".repeat(20_000)}` }), 413, "invalid_request");
  });
});

describe("POST /v1/token, device_code grant", () => {
  test("pending → authorization_pending; too fast → slow_down; on time again → pending", async () => {
    const grant = await createGrant();
    await expectError(await poll(alpha, grant.device_code), 400, "authorization_pending");
    clock += 1000;
    await expectError(await poll(alpha, grant.device_code), 400, "slow_down");
    clock += 5000;
    await expectError(await poll(alpha, grant.device_code), 400, "authorization_pending");
  });

  test("approved but not yet delivered is still authorization_pending", async () => {
    const grant = await createGrant();
    const record = await store.getByDeviceKey(deviceKeyOf(grant.device_code), clock);
    await store.transition(record!.id, "pending", "approved", clock);
    await expectError(await poll(alpha, grant.device_code), 400, "authorization_pending");
  });

  test("denied → access_denied", async () => {
    const grant = await createGrant();
    const record = await store.getByDeviceKey(deviceKeyOf(grant.device_code), clock);
    await store.transition(record!.id, "pending", "denied", clock);
    await expectError(await poll(alpha, grant.device_code), 400, "access_denied");
  });

  test("complete → 200 with the stored wrappers, exactly once", async () => {
    const grant = await createGrant();
    const result = await approveAndDeliver(grant);
    const response = await poll(alpha, grant.device_code);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const text = await response.text();
    expect(text).toBe(result);
    const body = JSON.parse(text) as { access_token: string };
    const wrapper = await verifyWrapper(body.access_token, "access", keys, { issuer: ISSUER, now: clock });
    expect(wrapper.binding).toEqual({ kind: "x5t#S256", value: alpha.thumbprint });
    expect(text).not.toContain("upstream-access");
    clock += 5000;
    await expectError(await poll(alpha, grant.device_code), 400, "invalid_grant");
  });

  test("another certificate gets invalid_grant, consumes nothing, and does not slow the rightful agent down", async () => {
    const grant = await createGrant();
    const result = await approveAndDeliver(grant);
    await expectError(await poll(beta, grant.device_code), 400, "invalid_grant");
    await expectError(await poll(beta, grant.device_code), 400, "invalid_grant");
    expect(logger.lines.some((l) => l.includes("token.refused") && l.includes("binding_mismatch"))).toBe(
      true,
    );
    const response = await poll(alpha, grant.device_code);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(result);
  });

  test("unknown and expired device codes → expired_token", async () => {
    await expectError(await poll(alpha, "not-a-device-code"), 400, "expired_token");
    await expectError(await poll(alpha, ""), 400, "invalid_request");
    const grant = await createGrant();
    clock += 600_000;
    await expectError(await poll(alpha, grant.device_code), 400, "expired_token");
  });

  test("the device code is never logged", async () => {
    const grant = await createGrant();
    await approveAndDeliver(grant);
    await poll(beta, grant.device_code);
    await poll(alpha, grant.device_code);
    expect(logger.lines.join("\n")).not.toContain(grant.device_code);
  });
});

describe("refresh wrappers minted for the device flow", () => {
  test("a delivered refresh wrapper is bound to the creating certificate", async () => {
    const grant = await createGrant();
    const record = await store.getByDeviceKey(deviceKeyOf(grant.device_code), clock);
    await store.transition(record!.id, "pending", "approved", clock);
    const tokens = upstreamTokens("a", { refreshToken: new Secret("r") });
    const context = {
      provider: providers.get("corp")!,
      bindings: certificateBound(record!.thumbprint),
      requestedScope: [],
    };
    const { body } = await issueWrappers(tokens, context, keys, {
      issuer: ISSUER,
      tokenTtl: 3600,
      now: clock,
    });
    await store.deliver(record!.id, JSON.stringify(body), clock);
    const collected = (await (await poll(alpha, grant.device_code)).json()) as { refresh_token: string };
    const refresh = await verifyWrapper(collected.refresh_token, "refresh", keys, {
      issuer: ISSUER,
      now: clock,
    });
    expect(refresh.binding).toEqual({ kind: "x5t#S256", value: alpha.thumbprint });
  });
});

import { beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type AgentApiDeps, createAgentApi } from "../../../src/broker/agent-api.ts";
import { issueWrappers, type TokenResponseBody } from "../../../src/broker/issue.ts";
import { createMemoryStore } from "../../../src/broker/rendezvous/memory.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { newRule } from "../../../src/core/access/revocation.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../../src/core/provider/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { openWrapper } from "../../../src/core/token/open.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { certificateBound } from "../../helpers/bindings.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { signRaw } from "../core/token/forge.ts";
import {
  agentRequest,
  brokerParties,
  form,
  ISSUER,
  type ScriptedIdp,
  scriptedIdp,
  testConfig,
  testProvider,
  upstreamTokens,
} from "./fixtures.ts";

let keys: KeySets;
let alpha: ClientIdentity;
let beta: ClientIdentity;
beforeAll(async () => {
  ({ keys, alpha, beta } = await brokerParties());
});

let clock: number;
let idp: ScriptedIdp;
let logger: ReturnType<typeof createMemoryLogger>;
let handler: ReturnType<typeof createAgentApi>;
let policy: PolicyGate;
let revocations: RevocationList;

const REFRESH_TTL = 600;

function setup(providers: Map<string, ResolvedProvider>): void {
  const config = testConfig({ refreshTtl: REFRESH_TTL });
  logger = createMemoryLogger();
  const deps: AgentApiDeps = {
    config,
    policy,
    revocations,
    providers,
    store: createMemoryStore(config.rendezvous),
    keys: () => keys,
    now: () => clock,
    logger,
  };
  handler = createAgentApi(deps);
}

beforeEach(() => {
  clock = Date.now();
  idp = scriptedIdp();
  policy = new PolicyGate(testConfig().policy);
  revocations = new RevocationList();
  setup(new Map([["corp", testProvider({ oauth: idp })]]));
});

/** The wrappers an agent holds after logging in (minted exactly as the callback mints them). */
async function loggedIn(client = alpha, refreshToken = "upstream-refresh-1"): Promise<TokenResponseBody> {
  const tokens = upstreamTokens("upstream-access-1", {
    refreshToken: new Secret(refreshToken),
    scope: "openid email",
  });
  const context = {
    provider: testProvider({ oauth: idp }),
    bindings: certificateBound(client.thumbprint),
    requestedScope: ["openid", "email"],
    idClaims: { sub: "person-1", email: "p@corp.example" },
  };
  const options = { issuer: ISSUER, tokenTtl: 3600, refreshTtl: REFRESH_TTL, now: clock };
  return (await issueWrappers(tokens, context, keys, options)).body;
}

function refresh(
  client: ClientIdentity,
  refreshToken: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  return handler(
    agentRequest(client, {
      body: form({ grant_type: "refresh_token", refresh_token: refreshToken, ...extra }),
    }),
  );
}

async function expectError(response: Response, status: number, error: string): Promise<void> {
  expect(response.headers.get("cache-control")).toBe("no-store");
  const body = (await response.json()) as { error: string };
  expect({ status: response.status, error: body.error }).toEqual({ status, error });
}

/** Minted by a refresh: the access wrapper binds alpha's certificate, the refresh wrapper its SPIFFE ID. */
async function opened(token: string, kind: "access" | "refresh"): Promise<string> {
  const wrapper = await verifyWrapper(token, kind, keys, { issuer: ISSUER, now: clock });
  expect(wrapper.binding).toEqual(
    kind === "access"
      ? { kind: "x5t#S256", value: alpha.thumbprint }
      : { kind: "spiffe_id", value: alpha.spiffeId as string },
  );
  return (await openWrapper(wrapper, keys)).token.reveal();
}

describe("POST /v1/token, refresh_token grant", () => {
  test("a rotated upstream refresh token is re-wrapped", async () => {
    const held = await loggedIn();
    idp.script.push(
      upstreamTokens("upstream-access-2", { refreshToken: new Secret("upstream-refresh-2"), expiresIn: 900 }),
    );
    clock += 60_000;
    const response = await refresh(alpha, held.refresh_token!);
    expect(response.status).toBe(200);
    expect(response.headers.get("pragma")).toBe("no-cache");
    const body = (await response.json()) as TokenResponseBody;
    expect(idp.received).toEqual(["upstream-refresh-1"]);
    expect(await opened(body.access_token, "access")).toBe("upstream-access-2");
    expect(await opened(body.refresh_token!, "refresh")).toBe("upstream-refresh-2");
    expect(body.expires_in).toBe(900);
    expect(body.token_type).toBe("Bearer");
    // The IdP did not restate the scope: the originally granted scope carries over.
    expect(body.scope).toBe("openid email");
    // Identity claims survive a refresh without an id_token.
    const access = await verifyWrapper(body.access_token, "access", keys, { issuer: ISSUER, now: clock });
    expect(access.claims).toMatchObject({ sub: "person-1", email: "p@corp.example" });
    const text = JSON.stringify(body);
    expect(text).not.toContain("upstream-refresh-2");
    expect(text).not.toContain("upstream-access-2");
  });

  test("without rotation the same upstream refresh token is wrapped again", async () => {
    const held = await loggedIn();
    idp.script.push(upstreamTokens("upstream-access-2"), upstreamTokens("upstream-access-3"));
    const body = (await (await refresh(alpha, held.refresh_token!)).json()) as TokenResponseBody;
    expect(await opened(body.refresh_token!, "refresh")).toBe("upstream-refresh-1");
    const again = (await (await refresh(alpha, body.refresh_token!)).json()) as TokenResponseBody;
    expect(await opened(again.access_token, "access")).toBe("upstream-access-3");
    expect(idp.received).toEqual(["upstream-refresh-1", "upstream-refresh-1"]);
  });

  test("the IdP's refusal → invalid_grant; an IdP outage or garbage → 503 temporarily_unavailable", async () => {
    const held = await loggedIn();
    idp.script.push("idp_error", "idp_network", "idp_unexpected_response");
    await expectError(await refresh(alpha, held.refresh_token!), 400, "invalid_grant");
    const outage = await refresh(alpha, held.refresh_token!);
    expect(outage.headers.get("retry-after")).toBe("5");
    await expectError(outage, 503, "temporarily_unavailable");
    await expectError(await refresh(alpha, held.refresh_token!), 503, "temporarily_unavailable");
  });

  test("another certificate → invalid_grant, and the IdP is never called", async () => {
    const held = await loggedIn();
    idp.script.push(upstreamTokens("never"));
    await expectError(await refresh(beta, held.refresh_token!), 400, "invalid_grant");
    expect(idp.received).toEqual([]);
  });

  test("client_id, when sent, names the wrapper's provider; another → invalid_grant, unknown → 401 invalid_client; the IdP is never called for either", async () => {
    const other = testProvider({ name: "other", oauth: scriptedIdp() });
    setup(
      new Map([
        ["corp", testProvider({ oauth: idp })],
        ["other", other],
      ]),
    );
    const held = await loggedIn();
    await expectError(
      await refresh(alpha, held.refresh_token!, { client_id: "other" }),
      400,
      "invalid_grant",
    );
    await expectError(
      await refresh(alpha, held.refresh_token!, { client_id: "nope" }),
      401,
      "invalid_client",
    );
    await expectError(await refresh(alpha, "not-a-jwt", { client_id: "corp" }), 400, "invalid_grant");
    expect(idp.received).toEqual([]);
    expect(logger.lines.some((l) => l.includes("token.refreshed") && l.includes("client_mismatch"))).toBe(
      true,
    );
    idp.script.push(upstreamTokens("upstream-access-2"));
    const response = await refresh(alpha, held.refresh_token!, { client_id: "corp" });
    expect(response.status).toBe(200);
    expect(idp.received).toEqual(["upstream-refresh-1"]);
  });

  test("a key-bound (cnf jkt) refresh wrapper → invalid_grant even for the right key; the IdP is never called", async () => {
    const held = await loggedIn();
    const [header = "", payload = ""] = held.refresh_token!.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const resigned = (cnf: Record<string, string>) =>
      signRaw(keys, Buffer.from(header, "base64url").toString(), JSON.stringify({ ...claims, cnf }));
    idp.script.push(upstreamTokens("never"));
    // The second value is the certificate's own x5t#S256 under the other member: kind confusion.
    for (const value of [alpha.keyThumbprint, alpha.thumbprint]) {
      const response = await refresh(alpha, await resigned({ jkt: value }));
      expect(((await response.clone().json()) as { error_description: string }).error_description).toContain(
        "cnf must hold exactly one of x5t#S256, spiffe_id",
      );
      await expectError(response, 400, "invalid_grant");
    }
    expect(idp.received).toEqual([]);
    // Control: the same re-signing with the certificate binding is accepted.
    const certBound = await resigned({ "x5t#S256": alpha.thumbprint });
    expect((await refresh(alpha, certBound)).status).toBe(200);
  });

  test("not a refresh wrapper → invalid_grant without calling the IdP", async () => {
    const held = await loggedIn();
    const otherKeys = await testKeySets();
    const context = {
      provider: testProvider(),
      bindings: certificateBound(alpha.thumbprint),
      requestedScope: [],
    };
    const foreign = await issueWrappers(
      upstreamTokens("a", { refreshToken: new Secret("r") }),
      context,
      otherKeys,
      { issuer: ISSUER, tokenTtl: 3600, now: clock },
    );
    const [header, payload, signature] = held.refresh_token!.split(".");
    const tampered = `${header}.${payload}x.${signature}`;
    for (const token of [held.access_token, foreign.body.refresh_token!, tampered, "garbage"]) {
      await expectError(await refresh(alpha, token), 400, "invalid_grant");
    }
    await expectError(await refresh(alpha, ""), 400, "invalid_request");
    expect(idp.received).toEqual([]);
  });

  test("refresh never extends access past auth_time + refresh_ttl, however many refreshes happened", async () => {
    const loginAt = clock;
    let held = (await loggedIn()).refresh_token!;
    const first = await verifyWrapper(held, "refresh", keys, { issuer: ISSUER, now: clock });
    for (let step = 1; step <= 5; step += 1) {
      clock = loginAt + step * 100_000;
      idp.script.push(upstreamTokens(`upstream-access-${step}`, { refreshToken: new Secret(`r-${step}`) }));
      const response = await refresh(alpha, held);
      expect(response.status).toBe(200);
      const body = (await response.json()) as TokenResponseBody;
      held = body.refresh_token!;
      const wrapper = await verifyWrapper(held, "refresh", keys, { issuer: ISSUER, now: clock });
      // Same login all along; the refresh wrapper's exp never moves past the login's bound.
      expect(wrapper.sid).toBe(first.sid);
      expect(wrapper.authTime).toBe(Math.floor(loginAt / 1000));
      expect(wrapper.exp).toBe(Math.floor(loginAt / 1000) + REFRESH_TTL);
      // Access wrappers keep token_ttl, whatever the login's bound.
      expect(body.expires_in).toBe(3600);
      const access = await verifyWrapper(body.access_token, "access", keys, { issuer: ISSUER, now: clock });
      expect(access.sid).toBe(first.sid);
    }
    // Just before the bound it still works; at the bound it is refused, and the IdP is not asked.
    clock = loginAt + (REFRESH_TTL - 1) * 1000;
    idp.script.push(upstreamTokens("upstream-access-last"));
    expect((await refresh(alpha, held)).status).toBe(200);
    const asked = idp.received.length;
    clock = loginAt + REFRESH_TTL * 1000 + 1000;
    await expectError(await refresh(alpha, held), 400, "invalid_grant");
    expect(idp.received.length).toBe(asked);
  });

  test("a token that never expires (no expires_in, no refresh token) is re-wrapped without the IdP, until auth_time + refresh_ttl", async () => {
    // GitHub OAuth Apps and Slack without token rotation answer like this: nothing to refresh with,
    // yet the token stays good. Without a refresh wrapper the person would approve again every token_ttl.
    const loginAt = clock;
    const context = {
      provider: testProvider({ oauth: idp }),
      bindings: certificateBound(alpha.thumbprint),
      requestedScope: ["repo"],
      idClaims: { sub: "person-1" },
    };
    const options = { issuer: ISSUER, tokenTtl: 3600, refreshTtl: REFRESH_TTL, now: clock };
    const held = (
      await issueWrappers(upstreamTokens("gho_forever", { tokenType: "bearer" }), context, keys, options)
    ).body;
    expect(held.refresh_token).toBeDefined();
    expect(JSON.stringify(held)).not.toContain("gho_forever");
    const first = await verifyWrapper(held.refresh_token!, "refresh", keys, { issuer: ISSUER, now: clock });
    expect(first.exp).toBe(Math.floor(loginAt / 1000) + REFRESH_TTL);
    clock = loginAt + 200_000;
    const response = await refresh(alpha, held.refresh_token!);
    expect(response.status).toBe(200);
    const body = (await response.json()) as TokenResponseBody;
    expect(await opened(body.access_token, "access")).toBe("gho_forever");
    expect(await opened(body.refresh_token!, "refresh")).toBe("gho_forever");
    expect(body.scope).toBe("repo");
    expect(idp.received).toEqual([]);
    const again = await verifyWrapper(body.refresh_token!, "refresh", keys, { issuer: ISSUER, now: clock });
    expect({ sid: again.sid, exp: again.exp }).toEqual({ sid: first.sid, exp: first.exp });
    // The login's bound holds here too, and the access wrapper never outlives token_ttl.
    expect(body.expires_in).toBe(3600);
    clock = loginAt + REFRESH_TTL * 1000 + 1000;
    await expectError(await refresh(alpha, body.refresh_token!), 400, "invalid_grant");
    expect(idp.received).toEqual([]);
  });

  test("a token with an expiry but no refresh token still gets no refresh wrapper", async () => {
    const context = {
      provider: testProvider({ oauth: idp }),
      bindings: certificateBound(alpha.thumbprint),
      requestedScope: [],
    };
    const options = { issuer: ISSUER, tokenTtl: 3600, refreshTtl: REFRESH_TTL, now: clock };
    const { body } = await issueWrappers(upstreamTokens("short", { expiresIn: 900 }), context, keys, options);
    expect(body.refresh_token).toBeUndefined();
  });

  test("policy on every refresh: a workload removed from [[policy]] → access_denied; others still refresh", async () => {
    const held = await loggedIn(alpha, "r-alpha");
    const other = await loggedIn(beta, "r-beta");
    idp.script.push(upstreamTokens("a-2"), upstreamTokens("b-2"));
    expect((await refresh(alpha, held.refresh_token!)).status).toBe(200);
    // The rule now names alpha's workload only for another provider; beta keeps its own rule.
    policy.replace([
      { workload: alpha.workload, providers: ["vault"] },
      { workload: beta.workload, providers: ["corp"] },
    ]);
    await expectError(await refresh(alpha, held.refresh_token!), 400, "access_denied");
    expect((await refresh(beta, other.refresh_token!)).status).toBe(200);
    expect(idp.received).toEqual(["r-alpha", "r-beta"]);
    const refused = logger.lines
      .map((line) => JSON.parse(line))
      .find((line) => line.outcome === "access_denied");
    expect(refused).toMatchObject({ event: "token.refreshed", workload: alpha.workload });
  });

  test("revocation on every refresh: a revoked login → invalid_grant without asking the IdP; another login refreshes", async () => {
    const held = await loggedIn(alpha, "r-alpha");
    const other = await loggedIn(alpha, "r-alpha-2");
    const { sid } = await verifyWrapper(held.refresh_token!, "refresh", keys, { issuer: ISSUER, now: clock });
    revocations.add(newRule({ login: sid }, "test", clock), clock);
    await expectError(await refresh(alpha, held.refresh_token!), 400, "invalid_grant");
    idp.script.push(upstreamTokens("a-2"));
    expect((await refresh(alpha, other.refresh_token!)).status).toBe(200);
    expect(idp.received).toEqual(["r-alpha-2"]);
    // A new login after a workload revocation is not refused by it.
    revocations.add(newRule({ workload: alpha.workload }, "test", clock), clock);
    clock += 2_000;
    const fresh = await loggedIn(alpha, "r-alpha-3");
    idp.script.push(upstreamTokens("a-3"));
    expect((await refresh(alpha, fresh.refresh_token!)).status).toBe(200);
    await expectError(await refresh(alpha, other.refresh_token!), 400, "invalid_grant");
  });

  test("an expired refresh wrapper → invalid_grant", async () => {
    const held = await loggedIn();
    clock += 3600_000 + 120_000;
    await expectError(await refresh(alpha, held.refresh_token!), 400, "invalid_grant");
    expect(idp.received).toEqual([]);
  });

  test("a provider that is gone or no longer OAuth → invalid_grant", async () => {
    const held = await loggedIn();
    setup(new Map());
    await expectError(await refresh(alpha, held.refresh_token!), 400, "invalid_grant");
    setup(new Map([["corp", testProvider({ kind: "static" })]]));
    await expectError(await refresh(alpha, held.refresh_token!), 400, "invalid_grant");
  });

  test("concurrent refreshes of one wrapper share a single IdP call", async () => {
    const held = await loggedIn();
    let release: () => void = () => undefined;
    idp.gate = new Promise((resolve) => {
      release = resolve;
    });
    idp.script.push(upstreamTokens("upstream-access-2", { refreshToken: new Secret("upstream-refresh-2") }));
    const first = refresh(alpha, held.refresh_token!);
    const second = refresh(alpha, held.refresh_token!);
    // The first request waits at the IdP; the second joins it once its in-memory body is read,
    // which takes microtasks only, all of which have run by the next macrotask.
    while (idp.received.length === 0) await Bun.sleep(0);
    await Bun.sleep(0);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await a.text()).toBe(await b.text());
    expect(idp.received).toEqual(["upstream-refresh-1"]);
    // Once settled, a later refresh is a new IdP call (rotation is the IdP's business again).
    idp.gate = undefined;
    await expectError(await refresh(alpha, held.refresh_token!), 503, "temporarily_unavailable");
    expect(idp.received).toHaveLength(2);
  });

  test("with and without client_id, concurrent refreshes of one wrapper still share one IdP call", async () => {
    const held = await loggedIn();
    let release: () => void = () => undefined;
    idp.gate = new Promise((resolve) => {
      release = resolve;
    });
    idp.script.push(upstreamTokens("upstream-access-2", { refreshToken: new Secret("upstream-refresh-2") }));
    const first = refresh(alpha, held.refresh_token!);
    const second = refresh(alpha, held.refresh_token!, { client_id: "corp" });
    while (idp.received.length === 0) await Bun.sleep(0);
    await Bun.sleep(0);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(idp.received).toEqual(["upstream-refresh-1"]);
  });

  test("a concurrent refresh from another certificate neither joins nor spoils the rightful one", async () => {
    const held = await loggedIn();
    let release: () => void = () => undefined;
    idp.gate = new Promise((resolve) => {
      release = resolve;
    });
    idp.script.push(upstreamTokens("upstream-access-2"));
    const rightful = refresh(alpha, held.refresh_token!);
    const thief = refresh(beta, held.refresh_token!);
    await expectError(await thief, 400, "invalid_grant");
    release();
    expect((await rightful).status).toBe(200);
    expect(idp.received).toEqual(["upstream-refresh-1"]);
  });

  test("audited as token.refreshed, without any token in the log", async () => {
    const held = await loggedIn();
    idp.script.push(
      upstreamTokens("upstream-access-2", { refreshToken: new Secret("upstream-refresh-2") }),
      "idp_error",
    );
    const body = (await (await refresh(alpha, held.refresh_token!)).json()) as TokenResponseBody;
    await refresh(alpha, body.refresh_token!);
    const events = logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const refreshed = events.filter((event) => event.event === "token.refreshed");
    expect(refreshed.map((event) => [event.outcome, event.rotated])).toEqual([
      ["refreshed", true],
      ["invalid_grant", undefined],
    ]);
    expect(refreshed[0]).toMatchObject({
      workload: alpha.workload,
      fingerprint: alpha.fingerprint,
      provider: "corp",
    });
    const log = logger.lines.join("\n");
    for (const secret of [
      "upstream-refresh-1",
      "upstream-refresh-2",
      "upstream-access-2",
      held.refresh_token!,
      body.access_token,
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

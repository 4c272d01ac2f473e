/**
 * Attacks on the person's side of a login (DESIGN §4.2), over real sockets: the real web app on a
 * real port, a cookie-jar browser, the real stub IdP, and the real agent API for the agent's side.
 * Every case asserts the page's status and code, that nothing was delivered to the agent (its poll
 * stays `authorization_pending`, or `access_denied` where the person or IdP said no), and that no
 * secret (IdP tokens, codes, client secrets, device codes) appears in any page or log line.
 *
 * IdP A is reached through a relay that can hold the IdP's redirect (so a test can tamper with the
 * callback URL inside the victim's own browser) and can replace the id_token the IdP returns.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { DEVICE_CODE_GRANT } from "../../src/broker/metadata.ts";
import type { Config } from "../../src/core/config/types.ts";
import { Browser, type Page } from "../helpers/browser.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startWebHarness, type WebHarness } from "../helpers/web-harness.ts";
import { stubProviderConfig, webConfig } from "../unit/web-port/fixtures.ts";

type Forge = (claims: JWTPayload, original: string) => Promise<string>;

interface Relay {
  origin: string;
  /** When set, /authorize answers 200 and keeps the IdP's redirect here instead of following it. */
  hold: boolean;
  held: URL[];
  forge?: Forge;
  close(): Promise<void>;
}

/** IdP A's authorization and token endpoints, in front of the stub. */
function startRelay(idp: StubIdp): Relay {
  const relay: Relay = { origin: "", hold: false, held: [], close: async () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/authorize") {
        const callback = await idp.authorize(`${idp.issuer}/authorize${url.search}`);
        if (!relay.hold) return new Response(null, { status: 302, headers: { location: callback.href } });
        relay.held.push(callback);
        return new Response("held", { status: 200 });
      }
      const upstream = await fetch(`${idp.issuer}/token`, {
        method: "POST",
        headers: request.headers,
        body: await request.text(),
      });
      const body = (await upstream.json()) as Record<string, unknown>;
      if (relay.forge !== undefined && typeof body.id_token === "string") {
        body.id_token = await relay.forge(decodeJwt(body.id_token), body.id_token);
      }
      return Response.json(body, { status: upstream.status });
    },
  });
  relay.origin = `http://127.0.0.1:${server.port}`;
  relay.close = () => server.stop(true);
  return relay;
}

interface Harness extends WebHarness {
  idp: StubIdp;
  other: StubIdp;
  relay: Relay;
}

let h: Harness;
/** Every secret seen so far; none may appear in any page or log line. */
const secrets = new Set<string>();
const browsers: Browser[] = [];

async function harness(): Promise<Harness> {
  let stubs: { idp: StubIdp; other: StubIdp; relay: Relay } | undefined;
  const web = await startWebHarness({
    configure: async (issuer) => {
      const idp = await startStubIdp({ redirectUris: [`${issuer}/callback`] });
      const other = await startStubIdp({ redirectUris: [`${issuer}/callback`] });
      const relay = startRelay(idp);
      stubs = { idp, other, relay };
      for (const stub of [idp, other]) secrets.add(stub.clientSecret);
      const config: Config = webConfig(issuer, {
        stub: stubProviderConfig(idp, {
          authorizationEndpoint: `${relay.origin}/authorize`,
          tokenEndpoint: `${relay.origin}/token`,
        }),
        other: stubProviderConfig(other, { name: "other" }),
      });
      config.policy = [{ workload: "spiffe://test.example/**", providers: ["stub", "other"] }];
      config.rendezvous = {
        ...config.rendezvous,
        interval: 1,
        maxPendingPerWorkload: 1000,
        createRate: 1000,
      };
      return config;
    },
    storeLimits: { maxPendingPerWorkload: 1000, maxPendingTotal: 10_000 },
    release: async () => Promise.all([stubs?.idp.close(), stubs?.other.close(), stubs?.relay.close()]),
  });
  return { ...web, ...stubs! };
}

beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());
afterEach(() => {
  h.relay.hold = false;
  delete h.relay.forge;
  for (const stub of [h.idp, h.other]) {
    stub.setMode("normal");
    for (const value of Object.values(stub.lastIssued)) if (value) secrets.add(value);
  }
  for (const url of h.relay.held) {
    const code = url.searchParams.get("code");
    if (code) secrets.add(code);
  }
  const outputs = [...browsers.flatMap((b) => b.pages.map((p) => p.body)), ...h.sink.lines];
  for (const secret of secrets) for (const output of outputs) expect(output).not.toContain(secret);
});

interface Grant {
  device_code: string;
  verification_uri_complete: string;
}

function newBrowser(): Browser {
  const browser = new Browser();
  browsers.push(browser);
  return browser;
}

async function createGrant(provider = "stub"): Promise<Grant> {
  const response = await h.agent("/v1/grants", { provider });
  expect(response.status).toBe(200);
  const grant = (await response.json()) as Grant;
  secrets.add(grant.device_code);
  return grant;
}

/** The agent's one poll: the error code, or "delivered". */
async function poll(grant: Grant): Promise<string> {
  const response = await h.agent("/v1/token", {
    grant_type: DEVICE_CODE_GRANT,
    device_code: grant.device_code,
  });
  if (response.status === 200) return "delivered";
  return ((await response.json()) as { error: string }).error;
}

/** Opens the consent page and approves; with `hold`, stops at the IdP and returns its redirect. */
async function approve(provider = "stub", browser = newBrowser()) {
  const grant = await createGrant(provider);
  const consent = await browser.open(grant.verification_uri_complete);
  expect(consent.status).toBe(200);
  h.relay.hold = provider === "stub";
  const page = await browser.submit("/device/approve", Browser.hiddenFields(consent));
  h.relay.hold = false;
  return { grant, browser, consent, page, callback: h.relay.held.at(-1) };
}

/** A held IdP redirect for IdP A, in the victim's browser. */
async function held() {
  const flow = await approve("stub");
  if (flow.callback === undefined) throw new Error("relay held nothing");
  return { ...flow, callback: flow.callback };
}

function expectPage(page: Page, status: number, code: string): void {
  expect(page.status).toBe(status);
  expect(page.body).toContain(code);
}

function edited(url: URL, edit: (params: URLSearchParams) => void): URL {
  const copy = new URL(url);
  edit(copy.searchParams);
  return copy;
}

function tokenExchanges(idp: StubIdp): number {
  return idp.requests.filter((r) => r.path === "/token").length;
}

describe("baseline", () => {
  test("the held flow completes when the genuine callback is opened", async () => {
    const flow = await held();
    const done = await flow.browser.open(flow.callback);
    expect(done.status).toBe(200);
    expect(done.body).toContain("All set");
    expect(await poll(flow.grant)).toBe("delivered");
  });
});

describe("callback URL tampering: refused before any exchange, the genuine callback still works", () => {
  const cases: Array<[string, (params: URLSearchParams) => void]> = [
    ["state missing", (p) => p.delete("state")],
    ["state mismatched", (p) => p.set("state", "A".repeat(43))],
    ["state repeated", (p) => p.append("state", p.get("state") ?? "")],
    ["RFC 9207 iss of another issuer", (p) => p.set("iss", "https://evil.example")],
    ["RFC 9207 iss with a trailing slash", (p) => p.set("iss", `${p.get("iss")}/`)],
    ["iss repeated", (p) => p.append("iss", p.get("iss") ?? "")],
  ];
  test.each(cases)("%s → 400 state_invalid", async (_name, edit) => {
    const flow = await held();
    const before = tokenExchanges(h.idp);
    expectPage(await flow.browser.open(edited(flow.callback, edit)), 400, "state_invalid");
    expect(tokenExchanges(h.idp)).toBe(before);
    expect(await poll(flow.grant)).toBe("authorization_pending");
    // A forgery must not be able to burn the person's sign-in in progress.
    expect((await flow.browser.open(flow.callback)).status).toBe(200);
  });

  test("the callback opened in another browser (no flow cookie) → 400 state_invalid", async () => {
    const flow = await held();
    expectPage(await newBrowser().open(flow.callback), 400, "state_invalid");
    expect(await poll(flow.grant)).toBe("authorization_pending");
    expect((await flow.browser.open(flow.callback)).status).toBe(200);
  });

  test("mix-up: A's flow cookie and state with a code and iss from IdP B → 400 state_invalid", async () => {
    const victim = await held();
    const attacker = await approve("other");
    const fromB = new URL(attacker.page.url);
    expect(fromB.searchParams.get("iss")).toBe(h.other.issuer);
    secrets.add(fromB.searchParams.get("code") ?? "");
    const forged = edited(victim.callback, (p) => {
      p.set("code", fromB.searchParams.get("code") ?? "");
      p.set("iss", h.other.issuer);
    });
    expectPage(await victim.browser.open(forged), 400, "state_invalid");
    expect(await poll(victim.grant)).toBe("authorization_pending");
  });

  test("mix-up without iss: IdP A advertised iss (RFC 9207 §2.4), so the response is refused before any exchange → 400 state_invalid", async () => {
    const victim = await held();
    const code = h.relay.held.at(-1)?.searchParams.get("code") ?? "";
    // Obtain a code at IdP B for the attacker's own grant, without completing that flow.
    h.other.setMode("normal");
    const attacker = await createGrant("other");
    const attackerBrowser = newBrowser();
    const consent = await attackerBrowser.open(attacker.verification_uri_complete);
    const approveResponse = await fetch(`${h.issuer}/device/approve`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "same-origin",
        cookie: `surrogate-csrf=${attackerBrowser.cookie(new URL(h.issuer).host, "surrogate-csrf")}`,
      },
      body: new URLSearchParams(Browser.hiddenFields(consent)).toString(),
    });
    const fromB = await h.other.authorize(approveResponse.headers.get("location") ?? "");
    const codeB = fromB.searchParams.get("code") ?? "";
    secrets.add(codeB);
    expect(codeB).not.toBe(code);
    const before = tokenExchanges(h.other);
    const beforeA = tokenExchanges(h.idp);
    const page = await victim.browser.open(
      edited(victim.callback, (p) => {
        p.set("code", codeB);
        p.delete("iss");
      }),
    );
    expectPage(page, 400, "state_invalid");
    expect(tokenExchanges(h.other)).toBe(before);
    expect(tokenExchanges(h.idp)).toBe(beforeA);
    expect(await poll(victim.grant)).toBe("authorization_pending");
  });

  test("code missing → 502 idp_unexpected_response; code tampered → 502 idp_error", async () => {
    const first = await held();
    expectPage(
      await first.browser.open(edited(first.callback, (p) => p.delete("code"))),
      502,
      "idp_unexpected_response",
    );
    expect(await poll(first.grant)).toBe("authorization_pending");
    const second = await held();
    expectPage(
      await second.browser.open(edited(second.callback, (p) => p.set("code", "stub-code-forged"))),
      502,
      "idp_error",
    );
    expect(await poll(second.grant)).toBe("authorization_pending");
  });
});

describe("replays", () => {
  test("callback replay in the same browser: the flow cookie is gone → 400, no second exchange", async () => {
    const flow = await held();
    expect((await flow.browser.open(flow.callback)).status).toBe(200);
    const exchanges = tokenExchanges(h.idp);
    expectPage(await flow.browser.open(flow.callback), 400, "state_invalid");
    expect(tokenExchanges(h.idp)).toBe(exchanges);
    expect(await poll(flow.grant)).toBe("delivered");
  });

  test("callback replay with a saved flow cookie → 409 invalid_grant, no second exchange or delivery", async () => {
    const flow = await held();
    const saved = flow.browser.cookie(new URL(h.issuer).host, "surrogate-flow") ?? "";
    expect(saved).not.toBe("");
    expect((await flow.browser.open(flow.callback)).status).toBe(200);
    expect(await poll(flow.grant)).toBe("delivered");
    const exchanges = tokenExchanges(h.idp);
    const replay = await fetch(flow.callback, { headers: { cookie: `surrogate-flow=${saved}` } });
    expect(replay.status).toBe(409);
    expect(await replay.text()).toContain("invalid_grant");
    expect(tokenExchanges(h.idp)).toBe(exchanges);
    // Handed out once: a second poll never gets a token (here it is also too soon: slow_down).
    expect(await poll(flow.grant)).not.toBe("delivered");
  });

  test("code replay: a used code inside a second flow → IdP refuses → 502 idp_error, nothing delivered", async () => {
    const first = await held();
    const usedCode = first.callback.searchParams.get("code") ?? "";
    expect((await first.browser.open(first.callback)).status).toBe(200);
    const second = await held();
    const page = await second.browser.open(edited(second.callback, (p) => p.set("code", usedCode)));
    expectPage(page, 502, "idp_error");
    expect(await poll(second.grant)).toBe("authorization_pending");
  });

  test("state reuse: the state of a completed flow inside a second flow → 400 state_invalid", async () => {
    const first = await held();
    expect((await first.browser.open(first.callback)).status).toBe(200);
    const second = await held();
    const stale = edited(second.callback, (p) =>
      p.set("state", first.callback.searchParams.get("state") ?? ""),
    );
    expectPage(await second.browser.open(stale), 400, "state_invalid");
    expect(await poll(second.grant)).toBe("authorization_pending");
  });
});

describe("authorization request (RFC 7636, RFC 9700 §2.1.1)", () => {
  test("always S256 with a 43-character challenge, a fresh state and nonce; plain would be refused", async () => {
    const first = await approve("stub");
    const second = await approve("stub");
    const requests = h.idp.requests.filter((r) => r.path === "/authorize").slice(-2);
    for (const request of requests) {
      expect(request.params.code_challenge_method).toBe("S256");
      expect(request.params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(request.params.state?.length ?? 0).toBeGreaterThanOrEqual(43);
      expect(request.params.nonce?.length ?? 0).toBeGreaterThanOrEqual(22);
      expect(request.params.response_type).toBe("code");
      expect(request.params.redirect_uri).toBe(`${h.issuer}/callback`);
    }
    expect(requests[0]?.params.state).not.toBe(requests[1]?.params.state);
    expect(requests[0]?.params.code_challenge).not.toBe(requests[1]?.params.code_challenge);
    // The IdP refuses a downgrade to plain; our callback turns its error into a page, nothing issued.
    const sent = new URLSearchParams(requests[1]?.params);
    sent.set("code_challenge_method", "plain");
    const refused = await h.idp.authorize(`${h.idp.issuer}/authorize?${sent}`);
    expect(refused.searchParams.get("error")).toBe("invalid_request");
    expect(refused.searchParams.has("code")).toBe(false);
    expectPage(await second.browser.open(refused), 502, "idp_error");
    expect(await poll(second.grant)).toBe("authorization_pending");
    expect(await poll(first.grant)).toBe("authorization_pending");
  });

  test("the IdP's access_denied marks the grant denied: the agent is told access_denied", async () => {
    const flow = await held();
    const denied = edited(flow.callback, (p) => {
      p.delete("code");
      p.set("error", "access_denied");
    });
    const page = await flow.browser.open(denied);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Request denied");
    expect(await poll(flow.grant)).toBe("access_denied");
  });
});

describe("consent forms", () => {
  async function consentPage() {
    const grant = await createGrant();
    const browser = newBrowser();
    const consent = await browser.open(grant.verification_uri_complete);
    return { grant, browser, consent, fields: Browser.hiddenFields(consent) };
  }

  async function post(path: string, fields: Record<string, string>, headers: Record<string, string>) {
    return fetch(`${h.issuer}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  const refusals: Array<
    [string, (f: Record<string, string>, cookie: string) => [Record<string, string>, Record<string, string>]]
  > = [
    [
      "approve without the CSRF field",
      (f, c) => [{ grant: f.grant ?? "" }, { cookie: c, "sec-fetch-site": "same-origin" }],
    ],
    ["approve without the CSRF cookie", (f) => [f, { "sec-fetch-site": "same-origin" }]],
    [
      "approve with a forged CSRF field",
      (f, c) => [
        { ...f, csrf: "x".repeat(43) },
        { cookie: c, "sec-fetch-site": "same-origin" },
      ],
    ],
    ["approve from another site", (f, c) => [f, { cookie: c, "sec-fetch-site": "cross-site" }]],
  ];
  test.each(refusals)("%s → 403 csrf_invalid, no redirect to the IdP", async (_name, build) => {
    const { grant, browser, fields } = await consentPage();
    const cookie = `surrogate-csrf=${browser.cookie(new URL(h.issuer).host, "surrogate-csrf")}`;
    const [form, headers] = build(fields, cookie);
    const response = await post("/device/approve", form, headers);
    expect(response.status).toBe(403);
    expect(response.headers.get("location")).toBeNull();
    expect(await response.text()).toContain("csrf_invalid");
    expect(await poll(grant)).toBe("authorization_pending");
  });

  test("another browser's CSRF token for the same grant → 403 (the token is bound to its cookie)", async () => {
    const { grant, fields } = await consentPage();
    const attacker = newBrowser();
    await attacker.open(grant.verification_uri_complete);
    const attackerCookie = `surrogate-csrf=${attacker.cookie(new URL(h.issuer).host, "surrogate-csrf")}`;
    const response = await post("/device/approve", fields, {
      cookie: attackerCookie,
      "sec-fetch-site": "same-origin",
    });
    expect(response.status).toBe(403);
    expect(await poll(grant)).toBe("authorization_pending");
  });

  test("deny without a CSRF token → 403 and the grant is not denied", async () => {
    const { grant, fields } = await consentPage();
    const response = await post(
      "/device/deny",
      { grant: fields.grant ?? "" },
      { "sec-fetch-site": "same-origin" },
    );
    expect(response.status).toBe(403);
    expect(await poll(grant)).toBe("authorization_pending");
  });

  test("no page can be framed: X-Frame-Options DENY and CSP frame-ancestors 'none'", async () => {
    const { browser, consent } = await consentPage();
    const pages = [
      consent,
      await browser.open(`${h.issuer}/callback?state=x&code=y`),
      await browser.open(`${h.issuer}/device`),
    ];
    for (const page of pages) {
      expect(page.headers.get("x-frame-options")).toBe("DENY");
      expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    }
  });
});

/** The stub's key pair is private to it; these forge with keys the IdP never published. */
let rogue: CryptoKey;
let rogueHmacSecret: Uint8Array;
beforeAll(async () => {
  rogue = (await generateKeyPair("ES256")).privateKey;
  const published = (await (await fetch(`${h.idp.issuer}/jwks`)).json()) as { keys: unknown[] };
  rogueHmacSecret = new TextEncoder().encode(JSON.stringify(published.keys[0]));
});

function unsigned(claims: JWTPayload): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
}

const now = () => Math.floor(Date.now() / 1000);

const idTokenAttacks: Array<[string, Forge]> = [
  [
    "bad signature (one byte of a valid one flipped)",
    async (_claims, original) => {
      const [head, body, signature = ""] = original.split(".");
      const bytes = Buffer.from(signature, "base64url");
      bytes[5] = (bytes[5] ?? 0) ^ 0x01;
      return `${head}.${body}.${bytes.toString("base64url")}`;
    },
  ],
  ["alg none", async (claims) => unsigned(claims)],
  ["wrong iss", async (claims) => h.idp.sign({ ...claims, iss: "https://evil.example" })],
  ["wrong aud", async (claims) => h.idp.sign({ ...claims, aud: "someone-else" })],
  [
    "another aud with ours and no azp",
    async ({ azp: _azp, ...claims }) => h.idp.sign({ ...claims, aud: [h.idp.clientId, "x"] }),
  ],
  ["azp of another client", async (claims) => h.idp.sign({ ...claims, azp: "someone-else" })],
  ["wrong nonce", async (claims) => h.idp.sign({ ...claims, nonce: "not-the-nonce" })],
  ["nonce missing", async ({ nonce: _nonce, ...claims }) => h.idp.sign(claims)],
  ["iat missing", async ({ iat: _iat, ...claims }) => h.idp.sign(claims)],
  ["sub missing", async ({ sub: _sub, ...claims }) => h.idp.sign(claims)],
  ["expired", async (claims) => h.idp.sign({ ...claims, iat: now() - 7200, exp: now() - 3600 })],
  [
    "payload altered after signing",
    async (claims, original) => {
      const [head, , signature] = original.split(".");
      return `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${signature}`;
    },
  ],
  ["unknown kid", async (claims) => h.idp.sign(claims, { kid: "not-published" })],
  [
    "valid except signed by another key (same kid)",
    (claims) => new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "stub-1" }).sign(rogue),
  ],
  [
    "HS256 keyed with the IdP's public JWK (key confusion)",
    (claims) => new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "stub-1" }).sign(rogueHmacSecret),
  ],
];

describe("id_token validation (OIDC Core §3.1.3.7, RFC 8725)", () => {
  test("control: the same claims re-signed by the IdP's key are accepted", async () => {
    h.relay.forge = (claims) => h.idp.sign(claims);
    const flow = await held();
    expect((await flow.browser.open(flow.callback)).status).toBe(200);
    expect(await poll(flow.grant)).toBe("delivered");
  });

  test.each(idTokenAttacks)("%s → 502 id_token_invalid, nothing delivered", async (_name, forge) => {
    h.relay.forge = forge;
    const flow = await held();
    const page = await flow.browser.open(flow.callback);
    expectPage(page, 502, "id_token_invalid");
    expect(await poll(flow.grant)).toBe("authorization_pending");
    expect(
      h.sink.lines.some((line) => line.includes("consent.failed") && line.includes("id_token_invalid")),
    ).toBe(true);
  });
});

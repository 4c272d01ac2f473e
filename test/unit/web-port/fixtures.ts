/**
 * Shared setup for the web-port tests: the real app, a real memory store, real keys, and a provider
 * resolved by the real registry against the real stub IdP (test/helpers/stub-idp.ts). Requests go
 * through `app.handle` (no browser), with cookies passed by hand.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  deviceKeyOf,
  generateDeviceCode,
  generateGrantId,
  generateUserCode,
} from "../../../src/broker/codes.ts";
import { resolveProviders } from "../../../src/broker/providers/registry.ts";
import { createMemoryStore } from "../../../src/broker/rendezvous/memory.ts";
import type { GrantRecord, RendezvousStore } from "../../../src/broker/rendezvous/store.ts";
import type { Config, ProviderConfig } from "../../../src/core/config/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../../src/core/provider/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { Observer } from "../../../src/ops/metrics/observer.ts";
import { createWebPort } from "../../../src/web-port/port.ts";
import { certificateBound } from "../../helpers/bindings.ts";
import { baseConfig } from "../../helpers/config.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { type StubIdp, startStubIdp } from "../../helpers/stub-idp.ts";

export const ISSUER = "https://broker.test.example";
export const CSRF_COOKIE = "__Host-surrogate-csrf";
export const FLOW_COOKIE = "__Host-surrogate-flow";

export function webConfig(issuer: string, providers: Record<string, ProviderConfig>): Config {
  return baseConfig({
    issuer,
    providers,
    policy: [{ workload: "spiffe://test.example/**", providers: ["stub"] }],
  });
}

export function stubProviderConfig(idp: StubIdp, extra: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: "stub",
    kind: "oidc",
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: new Secret(idp.clientSecret),
    scopes: ["openid", "email"],
    upstreams: ["api.stub.example"],
    ...extra,
  };
}

/** Requests to the app through `app.handle`, with the cookies of `jar` passed by hand. */
export function cookieSender(app: ReturnType<typeof createWebPort>, issuer: string) {
  return (path: string, init: RequestInit = {}, jar: Record<string, string> = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const cookie = Object.entries(jar)
      .map(([name, value]) => `${name}=${value}`)
      .join("; ");
    if (cookie !== "") headers.set("cookie", cookie);
    return app.handle(new Request(new URL(path, issuer), { ...init, headers }));
  };
}

export interface WebFixture {
  app: ReturnType<typeof createWebPort>;
  idp: StubIdp;
  store: RendezvousStore;
  keys: KeySets;
  logger: ReturnType<typeof createMemoryLogger>;
  providers: Map<string, ResolvedProvider>;
  /** Milliseconds added to the real clock (the stub IdP signs with the real one). */
  clock: { offset: number };
  now(): number;
  get(path: string, cookies?: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  post(
    path: string,
    body: string,
    cookies?: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Response>;
  grant(overrides?: Partial<GrantRecord>): Promise<GrantRecord>;
  close(): Promise<void>;
}

export async function webFixture(
  options: {
    /** Provider settings over the stub defaults; a function when they need the stub's own URLs. */
    providerExtra?: Partial<ProviderConfig> | ((idp: StubIdp) => Partial<ProviderConfig>);
    issuer?: string;
    clientAddress?: () => string;
  } = {},
): Promise<WebFixture> {
  const idp = await startStubIdp();
  const issuer = options.issuer ?? ISSUER;
  const clock = { offset: 0 };
  const now = () => Date.now() + clock.offset;
  const extra =
    typeof options.providerExtra === "function" ? options.providerExtra(idp) : options.providerExtra;
  const config = webConfig(issuer, { stub: stubProviderConfig(idp, extra) });
  const providers = await resolveProviders(config, { fetch, now });
  const store = createMemoryStore({ maxPendingPerWorkload: 5, maxPendingTotal: 1000 });
  const keys = await testKeySets();
  const logger = createMemoryLogger();
  const app = createWebPort(
    config,
    {
      providers,
      store,
      keys: () => keys,
      fetch,
      now,
      logger,
      ...(options.clientAddress === undefined ? {} : { clientAddress: options.clientAddress }),
    },
    new Observer({ providers, now }),
  );
  const send = cookieSender(app, issuer);
  return {
    app,
    idp,
    store,
    keys,
    logger,
    providers,
    clock,
    now,
    get: (path, cookies, headers) => send(path, { headers: headers ?? {} }, cookies),
    post: (path, body, cookies, headers) =>
      send(
        path,
        {
          method: "POST",
          body,
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        },
        cookies,
      ),
    grant: async (overrides = {}) => {
      const record = testGrant(now(), overrides);
      await store.create(record, now());
      return record;
    },
    close: async () => {
      await idp.close();
      await store.close();
    },
  };
}

export function testGrant(now: number, overrides: Partial<GrantRecord> = {}): GrantRecord {
  const der = randomBytes(64);
  return {
    id: generateGrantId(),
    deviceKey: deviceKeyOf(generateDeviceCode()),
    userCode: generateUserCode(),
    provider: "stub",
    scope: ["openid", "email"],
    workload: `spiffe://test.example/agents/ci-${randomBytes(4).toString("hex")}`,
    thumbprint: createHash("sha256").update(der).digest("base64url"),
    fingerprint: createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g)!.join(":"),
    bindings: certificateBound(createHash("sha256").update(der).digest("base64url")),
    createdAt: now,
    expiresAt: now + 600_000,
    interval: 5,
    status: "pending",
    ...overrides,
  };
}

/** `name=value` pairs from a response's Set-Cookie headers (attributes dropped). */
export function setCookies(response: Response): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const eq = pair.indexOf("=");
    cookies[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return cookies;
}

/** The raw Set-Cookie line for one cookie. */
export function setCookieLine(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

/** The value of a hidden input on a page. */
export function hiddenValue(html: string, name: string): string {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (match?.[1] === undefined) throw new Error(`no hidden input ${name}`);
  return match[1];
}

/** Opens the consent page for a grant and returns the CSRF cookie and form token, as a browser would hold them. */
export async function openConsent(fixture: WebFixture, grant: GrantRecord) {
  const response = await fixture.get(`/device?user_code=${grant.userCode}`);
  const html = await response.text();
  const csrfCookie = setCookies(response)[CSRF_COOKIE];
  if (response.status !== 200 || csrfCookie === undefined)
    throw new Error(`consent page: ${response.status}`);
  return { html, cookies: { [CSRF_COOKIE]: csrfCookie }, token: hiddenValue(html, "csrf") };
}

export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** Opens the consent page and presses Approve: the web port's answer, unchecked. */
export async function submitApprove(fixture: WebFixture, grant: GrantRecord): Promise<Response> {
  const consent = await openConsent(fixture, grant);
  return fixture.post("/device/approve", form({ grant: grant.id, csrf: consent.token }), consent.cookies);
}

/** Consent + Approve: returns the browser's flow cookie and the IdP authorization URL. */
export async function approve(fixture: WebFixture, grant: GrantRecord) {
  const response = await submitApprove(fixture, grant);
  const flow = setCookies(response)[FLOW_COOKIE];
  const location = response.headers.get("location");
  if (response.status !== 302 || flow === undefined || location === null)
    throw new Error(`approve: ${response.status}`);
  return { cookies: { [FLOW_COOKIE]: flow }, authorizationUrl: new URL(location) };
}

/** Approve, then let the stub IdP answer: the callback URL it redirects the browser to. */
export async function throughIdp(fixture: WebFixture, grant: GrantRecord) {
  const approved = await approve(fixture, grant);
  const callback = await fixture.idp.authorize(approved.authorizationUrl);
  return { ...approved, callbackPath: `${callback.pathname}${callback.search}`, callback };
}

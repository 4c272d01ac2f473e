import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import { definedOnly } from "../../../../src/core/config/defined.ts";
import type { Config, ProviderConfig } from "../../../../src/core/config/types.ts";
import { ConfigError } from "../../../../src/core/errors.ts";
import type { ResolvedProvider } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { baseConfig } from "../../../helpers/config.ts";
import { type StubIdp, startStubIdp } from "../../../helpers/stub-idp.ts";

const BROKER = "https://broker.example.test";
const GUID = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
let idp: StubIdp;
/** Serves whatever discovery document a test puts here, to exercise discovery's checks. */
let served: { status: number; body: string } = { status: 200, body: "{}" };
let documents: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  idp = await startStubIdp();
  documents = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(served.body, { status: served.status }),
  });
});
afterEach(() => idp.setMode("normal"));
afterAll(async () => {
  await idp.close();
  await documents.stop(true);
});

/** A provider's settings; a member set to undefined is left out (what a TOML file without the key gives). */
type ProviderInput = { [K in Exclude<keyof ProviderConfig, "kind">]?: ProviderConfig[K] | undefined } & Pick<
  ProviderConfig,
  "kind"
>;

function config(providers: Record<string, ProviderInput>): Config {
  const entries = Object.entries(providers).map(([name, provider]) => {
    const oauth =
      provider.kind === "static" ? {} : { clientId: "client-1", clientSecret: new Secret("s3cret") };
    return [name, definedOnly({ name, ...oauth, ...provider })];
  });
  return baseConfig({
    issuer: BROKER,
    providers: Object.fromEntries(entries),
    policy: [],
  });
}

const deps = { fetch, now: Date.now };

async function resolveOne(
  provider: ProviderInput,
  fetchImpl: typeof fetch = fetch,
): Promise<ResolvedProvider> {
  const resolved = await resolveProviders(config({ p: provider }), { ...deps, fetch: fetchImpl });
  const found = resolved.get("p");
  if (found === undefined) throw new Error("provider p not resolved");
  return found;
}

async function configError(provider: ProviderInput): Promise<string> {
  const error = await resolveOne(provider).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  expect(error.code).toBe("config_invalid");
  expect(error.message).not.toContain("s3cret");
  return error.message;
}

async function authorizeUrl(provider: ResolvedProvider, scopes = provider.scopes): Promise<URL> {
  if (provider.oauth === undefined) throw new Error("no OAuth client");
  const nonce = provider.oidc ? { nonce: "n" } : {};
  return provider.oauth.authorizationUrl({
    state: "s",
    codeVerifier: new Secret("v".repeat(43)),
    scopes,
    ...nonce,
  });
}

describe("built-in profiles", () => {
  test("github: fixed endpoints, two API hosts and the git host, Bearer injection (Basic for git), no OIDC", async () => {
    const github = await resolveOne({ kind: "github" });
    expect(github.upstreams.map((rule) => `${rule.host}:${rule.port}`)).toEqual([
      "api.github.com:443",
      "uploads.github.com:443",
      "github.com:443",
    ]);
    expect(github.inject).toEqual({ header: "authorization", prefix: "Bearer ", suffix: "" });
    expect(github.gitInject).toEqual({
      header: "authorization",
      prefix: "Basic ",
      suffix: "",
      basicUser: "x-access-token",
    });
    expect(github).toMatchObject({ scopes: ["read:user"], oidc: false, jwtAccessTokens: false });
    expect(github.oauth?.validateIdToken).toBeUndefined();
    expect(github.oauth?.issuer).toBeUndefined();
    const url = await authorizeUrl(github);
    expect(`${url.origin}${url.pathname}`).toBe("https://github.com/login/oauth/authorize");
    expect(url.searchParams.get("redirect_uri")).toBe(`${BROKER}/callback`);
    expect(url.searchParams.get("client_id")).toBe("client-1");
  });

  test("configuration overrides every profile field", async () => {
    const github = await resolveOne({
      kind: "github",
      scopes: ["repo"],
      upstreams: ["ghe.corp.example:8443"],
      inject: "Authorization: token {token}",
      jwtAccessTokens: true,
      authorizationEndpoint: "https://ghe.corp.example/login/oauth/authorize",
    });
    expect(github).toMatchObject({ scopes: ["repo"], jwtAccessTokens: true });
    expect(github.upstreams).toEqual([
      { scheme: "https", host: "ghe.corp.example", port: 8443, wildcard: false },
    ]);
    expect(github.inject.prefix).toBe("token ");
    expect((await authorizeUrl(github)).host).toBe("ghe.corp.example");
  });

  test("google: OIDC, googleapis wildcard, offline access for a refresh token", async () => {
    const google = await resolveOne({ kind: "google" });
    expect(google).toMatchObject({ oidc: true, scopes: ["openid", "email"] });
    expect(google.upstreams).toEqual([
      { scheme: "https", host: "googleapis.com", port: 443, wildcard: true },
    ]);
    expect(google.oauth?.issuer).toBe("https://accounts.google.com");
    expect(google.oauth?.validateIdToken).toBeFunction();
    const url = await authorizeUrl(google);
    expect(url.searchParams.get("access_type")).toBe("offline");
    expect(url.searchParams.get("nonce")).toBe("n");
  });

  test("microsoft: tenant common by default (issuer then per token), a GUID tenant fixes the issuer", async () => {
    const common = await resolveOne({ kind: "microsoft" });
    expect(common).toMatchObject({ oidc: true, jwtAccessTokens: true });
    expect(common.upstreams[0]?.host).toBe("graph.microsoft.com");
    expect((await authorizeUrl(common)).pathname).toBe("/common/oauth2/v2.0/authorize");
    expect(common.oauth?.issuer).toBeUndefined();
    const tenant = await resolveOne({ kind: "microsoft", tenant: GUID });
    expect(tenant.oauth?.issuer).toBe(`https://login.microsoftonline.com/${GUID}/v2.0`);
    expect(await configError({ kind: "microsoft", tenant: "../evil" })).toStartWith("providers.p.tenant:");
  });

  test("gitlab: gitlab.com by default, a self-hosted base_url moves endpoints, issuer and upstream", async () => {
    const hosted = await resolveOne({ kind: "gitlab" });
    expect(hosted.upstreams[0]?.host).toBe("gitlab.com");
    expect(hosted.oidc).toBe(true);
    const own = await resolveOne({
      kind: "gitlab",
      baseUrl: "https://git.corp.example:8443/",
      scopes: ["read_api"],
    });
    expect(own.upstreams).toEqual([
      { scheme: "https", host: "git.corp.example", port: 8443, wildcard: false },
    ]);
    expect(own.oidc).toBe(false);
    expect((await authorizeUrl(own)).href).toStartWith("https://git.corp.example:8443/oauth/authorize?");
    expect(own.oauth?.issuer).toBe("https://git.corp.example:8443");
    expect(await configError({ kind: "gitlab", baseUrl: "http://git.corp.example" })).toStartWith(
      "providers.p.base_url:",
    );
  });

  test("slack and atlassian: their hosts, Atlassian's audience parameter", async () => {
    const slack = await resolveOne({ kind: "slack" });
    expect(slack.upstreams[0]?.host).toBe("slack.com");
    expect((await authorizeUrl(slack)).host).toBe("slack.com");
    const atlassian = await resolveOne({ kind: "atlassian" });
    expect(atlassian.upstreams[0]?.host).toBe("api.atlassian.com");
    expect((await authorizeUrl(atlassian)).searchParams.get("audience")).toBe("api.atlassian.com");
  });

  test("static: no OAuth client, and upstreams are mandatory", async () => {
    const openai = await resolveOne({
      kind: "static",
      upstreams: ["api.openai.com"],
      inject: "x-api-key: {token}",
    });
    expect(openai.oauth).toBeUndefined();
    expect(openai.inject).toEqual({ header: "x-api-key", prefix: "", suffix: "" });
    expect(await configError({ kind: "static" })).toStartWith("providers.p.upstreams:");
  });
});

describe("configuration errors name the key", () => {
  const oauth2 = {
    kind: "oauth2" as const,
    authorizationEndpoint: "https://as.example/authorize",
    tokenEndpoint: "https://as.example/token",
    upstreams: ["api.example"],
  };

  test("oauth2 resolves with explicit endpoints and refuses without them", async () => {
    const resolved = await resolveOne(oauth2);
    expect((await authorizeUrl(resolved, ["read"])).host).toBe("as.example");
    expect(await configError({ ...oauth2, authorizationEndpoint: undefined })).toStartWith(
      "providers.p.authorization_endpoint:",
    );
    expect(await configError({ ...oauth2, tokenEndpoint: undefined })).toStartWith(
      "providers.p.token_endpoint:",
    );
  });

  test("non-https endpoints are refused (loopback http allowed)", async () => {
    expect(await configError({ ...oauth2, tokenEndpoint: "http://as.example/token" })).toStartWith(
      "providers.p.token_endpoint:",
    );
    expect(await configError({ ...oauth2, jwksUri: "http://as.example/jwks" })).toStartWith(
      "providers.p.jwks_uri:",
    );
    await resolveOne({ ...oauth2, tokenEndpoint: "http://127.0.0.1:9/token" });
  });

  test("bad upstreams and injections name the entry", async () => {
    const upstreams = ["api.example", "http://api.example"];
    expect(await configError({ ...oauth2, upstreams })).toStartWith("providers.p.upstreams[1]:");
    expect(await configError({ ...oauth2, upstreams: [] })).toStartWith("providers.p.upstreams:");
    expect(await configError({ ...oauth2, inject: "Authorization Bearer" })).toStartWith(
      "providers.p.inject:",
    );
  });

  test("demo, like oidc, needs an issuer to discover", async () => {
    expect(await configError({ kind: "demo", upstreams: ["127.0.0.1:8081"] })).toStartWith(
      "providers.p.issuer:",
    );
  });

  test("an OIDC provider without the openid scope is refused", async () => {
    expect(await configError({ kind: "google", scopes: ["email"] })).toStartWith("providers.p.scopes:");
  });
});

describe("OIDC discovery", () => {
  test("oidc and demo discover the stub IdP through the injected fetch and log in end to end", async () => {
    const fetched: string[] = [];
    const recording = ((input: RequestInfo | URL, init?: RequestInit) => {
      fetched.push(String(input));
      return fetch(input, init);
    }) as typeof fetch;
    for (const kind of ["oidc", "demo"] as const) {
      const corp = await resolveOne(
        {
          kind,
          issuer: idp.issuer,
          upstreams: ["127.0.0.1"],
          clientId: idp.clientId,
          clientSecret: new Secret(idp.clientSecret),
        },
        recording,
      );
      expect(corp).toMatchObject({ oidc: true, scopes: ["openid"] });
      expect(corp.oauth?.issuer).toBe(idp.issuer);
      const verifier = new Secret("v".repeat(43));
      const request = { state: "s", codeVerifier: verifier, nonce: `nonce-${kind}`, scopes: corp.scopes };
      const url = await corp.oauth?.authorizationUrl(request);
      expect(url?.href).toStartWith(`${idp.issuer}/authorize?`);
      const back = await idp.authorize(url ?? "");
      const tokens = await corp.oauth?.exchangeCode(
        new Secret(back.searchParams.get("code") ?? ""),
        verifier,
      );
      const claims = await corp.oauth?.validateIdToken?.(tokens?.idToken ?? new Secret(""), `nonce-${kind}`);
      expect(claims?.sub).toBe(idp.subject);
    }
    expect(fetched).toContain(`${idp.issuer}/.well-known/openid-configuration`);
  });

  test("a discovery document naming another issuer is refused (OIDC Discovery §4.3)", async () => {
    idp.setMode("wrong_discovery_issuer");
    const message = await configError({ kind: "oidc", issuer: idp.issuer, upstreams: ["api.example"] });
    expect(message).toStartWith("providers.p.issuer:");
    expect(message).toContain("different issuer");
  });

  test("the configured issuer must match exactly, trailing slash included", async () => {
    const message = await configError({ kind: "oidc", issuer: `${idp.issuer}/`, upstreams: ["api.example"] });
    expect(message).toContain("different issuer");
  });

  test("an unreachable issuer stops start-up", async () => {
    const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const issuer = `http://127.0.0.1:${gone.port}`;
    await gone.stop(true);
    expect(await configError({ kind: "oidc", issuer, upstreams: ["api.example"] })).toContain("unreachable");
  });

  const issuerOf = () => `http://127.0.0.1:${documents.port}`;
  const documentFor = (overrides: Record<string, unknown>) =>
    JSON.stringify({
      issuer: issuerOf(),
      authorization_endpoint: `${issuerOf()}/authorize`,
      token_endpoint: `${issuerOf()}/token`,
      jwks_uri: `${issuerOf()}/jwks`,
      ...overrides,
    });

  test.each([
    [
      "a non-https discovered endpoint",
      () => documentFor({ token_endpoint: "http://idp.example/token" }),
      "token_endpoint",
    ],
    ["no jwks_uri", () => documentFor({ jwks_uri: undefined }), "jwks_uri"],
    ["PKCE without S256", () => documentFor({ code_challenge_methods_supported: ["plain"] }), "S256"],
    ["a body that is not JSON", () => "<html>", "not JSON"],
    ["a JSON array", () => "[]", "not a JSON object"],
    ["an oversized document", () => " ".repeat(300 * 1024), "larger than"],
  ])("discovery refuses %s", async (_, body, expected) => {
    served = { status: 200, body: body() };
    const message = await configError({ kind: "oidc", issuer: issuerOf(), upstreams: ["api.example"] });
    expect(message).toStartWith("providers.p.issuer");
    expect(message).toContain(expected);
  });

  test("discovery refuses a non-200 answer, and accepts a complete document", async () => {
    served = { status: 302, body: "" };
    expect(await configError({ kind: "oidc", issuer: issuerOf(), upstreams: ["api.example"] })).toContain(
      "HTTP 302",
    );
    served = { status: 200, body: documentFor({}) };
    const ok = await resolveOne({ kind: "oidc", issuer: issuerOf(), upstreams: ["api.example"] });
    expect(ok.oauth?.issuer).toBe(issuerOf());
  });
});

/**
 * The OAuth client against the stub IdP imitating each vendor's documented behaviour where it
 * departs from the RFCs (status codes, field names, separators, error bodies). Each test names the
 * vendor document it follows; docs/providers.md cites the same pages.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  createOAuthClient,
  type OAuthClientSettings,
} from "../../../../src/broker/providers/oauth-client.ts";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import type { ProviderConfig } from "../../../../src/core/config/types.ts";
import { ConfigError, IdpError } from "../../../../src/core/errors.ts";
import type { OAuthClient, ResolvedProvider, UpstreamTokens } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { baseConfig } from "../../../helpers/config.ts";
import { type StubIdp, type StubIdpOptions, startStubIdp } from "../../../helpers/stub-idp.ts";

const REDIRECT = "https://broker.example.test/callback";
const stubs: StubIdp[] = [];

async function stub(options: StubIdpOptions): Promise<StubIdp> {
  const started = await startStubIdp({ redirectUris: [REDIRECT], ...options });
  stubs.push(started);
  return started;
}
afterAll(() => Promise.all(stubs.map((started) => started.close())));

function clientFor(idp: StubIdp, overrides: Partial<OAuthClientSettings> = {}): OAuthClient {
  return createOAuthClient(
    {
      provider: "vendor",
      clientId: idp.clientId,
      clientSecret: new Secret(idp.clientSecret),
      redirectUri: REDIRECT,
      authorizationEndpoint: `${idp.issuer}/authorize`,
      tokenEndpoint: `${idp.issuer}/token`,
      revocation: { style: "none", reason: "unused" },
      ...overrides,
    },
    { fetch, now: Date.now },
  );
}

const random = () => randomBytes(24).toString("base64url");

async function login(idp: StubIdp, oauth: OAuthClient, scopes: string[]): Promise<UpstreamTokens> {
  const verifier = new Secret(random());
  const url = await oauth.authorizationUrl({ state: random(), codeVerifier: verifier, scopes });
  const back = await idp.authorize(url);
  return oauth.exchangeCode(new Secret(back.searchParams.get("code") ?? ""), verifier);
}

async function failure(promise: Promise<unknown>): Promise<IdpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof IdpError)) throw new Error(`expected an IdpError, got ${String(error)}`);
  return error;
}

describe("Atlassian (developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens)", () => {
  let idp: StubIdp;
  beforeAll(async () => {
    idp = await stub({ vendor: "atlassian" });
  });

  test("a dead refresh token answered 403 invalid_grant is the IdP's refusal (idp_error), not an outage", async () => {
    const oauth = clientFor(idp, { clientAuth: "client_secret_post" });
    const tokens = await login(idp, oauth, ["read:me", "offline_access"]);
    const old = tokens.refreshToken ?? new Secret("");
    await oauth.refresh(old); // rotation: the old token is now disabled
    const error = await failure(oauth.refresh(old));
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("invalid_grant");
    expect(error.message).not.toContain(old.reveal());
    expect(error.message).not.toContain("Unknown or invalid");
  });
});

/** A built-in profile resolved from configuration, its endpoints moved to the stub IdP. */
async function profileClient(idp: StubIdp, provider: Input): Promise<ResolvedProvider> {
  const config = baseConfig({
    issuer: "https://broker.example.test",
    providers: {
      p: {
        name: "p",
        clientId: idp.clientId,
        clientSecret: new Secret(idp.clientSecret),
        authorizationEndpoint: `${idp.issuer}/authorize`,
        tokenEndpoint: `${idp.issuer}/token`,
        ...provider,
      },
    },
    policy: [],
  });
  const resolved = (await resolveProviders(config, { fetch, now: Date.now })).get("p");
  if (resolved?.oauth === undefined) throw new Error("no OAuth client");
  return resolved;
}

type Input = Omit<Partial<ProviderConfig>, "kind"> & Pick<ProviderConfig, "kind">;

async function loginAt(idp: StubIdp, provider: ResolvedProvider, scopes: string[]) {
  const oauth = provider.oauth as OAuthClient;
  const verifier = new Secret(random());
  const url = await oauth.authorizationUrl({ state: random(), codeVerifier: verifier, scopes });
  const back = await idp.authorize(url);
  return { url, back, verifier, code: new Secret(back.searchParams.get("code") ?? "") };
}

describe("Slack (api.slack.com/authentication/oauth-v2, api.slack.com/methods/oauth.v2.access)", () => {
  test("scopes go comma-separated in user_scope, the person's scopes (a space-joined list is invalid_scope)", async () => {
    const idp = await stub({ vendor: "slack", expiring: false });
    const slack = await profileClient(idp, { kind: "slack" });
    const { url, back } = await loginAt(idp, slack, ["channels:read", "users:read"]);
    expect(url.searchParams.get("user_scope")).toBe("channels:read,users:read");
    expect(url.searchParams.has("scope")).toBe(false);
    expect(back.searchParams.get("error")).toBeNull();
    expect(back.searchParams.get("code")).toStartWith("stub-code-");
  });

  test("the token is the person's (authed_user.access_token), never the app's bot token", async () => {
    const idp = await stub({ vendor: "slack", expiring: false });
    const slack = await profileClient(idp, { kind: "slack" });
    const { code, verifier } = await loginAt(idp, slack, ["channels:read", "users:read"]);
    const tokens = await (slack.oauth as OAuthClient).exchangeCode(code, verifier);
    expect(tokens.accessToken.reveal()).toStartWith("xoxp-");
    expect(tokens.accessToken.reveal()).toBe(idp.lastIssued.accessToken ?? "missing");
    expect(tokens).toMatchObject({ tokenType: "user", scope: "channels:read users:read" });
    expect(tokens.expiresIn).toBeUndefined();
    expect(tokens.refreshToken).toBeUndefined();
  });

  test("with token rotation: the person's expiring token and refresh token, then refresh at the top level", async () => {
    const idp = await stub({ vendor: "slack", expiring: true, accessTokenTtl: 43_200 });
    const slack = await profileClient(idp, { kind: "slack" });
    const oauth = slack.oauth as OAuthClient;
    const { code, verifier } = await loginAt(idp, slack, ["channels:read"]);
    const tokens = await oauth.exchangeCode(code, verifier);
    expect(tokens.accessToken.reveal()).toStartWith("xoxe.xoxp-1-");
    expect(tokens.refreshToken?.reveal()).toStartWith("xoxe-1-");
    expect(tokens.expiresIn).toBe(43_200);
    const refreshed = await oauth.refresh(tokens.refreshToken ?? new Secret(""));
    expect(refreshed.accessToken.reveal()).toBe(idp.lastIssued.accessToken ?? "missing");
    expect(refreshed).toMatchObject({ tokenType: "user", expiresIn: 43_200, scope: "channels:read" });
  });

  test("an answer holding only the app's bot token is refused, saying why", async () => {
    const idp = await stub({ vendor: "slack", expiring: false });
    const slack = await profileClient(idp, { kind: "slack" });
    const verifier = new Secret(random());
    const url = await (slack.oauth as OAuthClient).authorizationUrl({
      state: random(),
      codeVerifier: verifier,
      scopes: ["channels:read"],
    });
    // As if the app had asked for bot scopes only: Slack then answers with a bot token alone.
    url.searchParams.set("scope", "chat:write");
    url.searchParams.delete("user_scope");
    const back = await idp.authorize(url);
    const error = await failure(
      (slack.oauth as OAuthClient).exchangeCode(new Secret(back.searchParams.get("code") ?? ""), verifier),
    );
    expect(error.code).toBe("idp_unexpected_response");
    expect(error.message).toContain("bot token");
  });

  test("Slack's {ok:false} error is the IdP's refusal", async () => {
    const idp = await stub({ vendor: "slack", expiring: false });
    const slack = await profileClient(idp, { kind: "slack" });
    const error = await failure(
      (slack.oauth as OAuthClient).exchangeCode(new Secret("stale"), new Secret(random())),
    );
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("invalid_code");
  });
});

describe("GitHub (docs.github.com: authorizing OAuth apps; GitHub Apps: refreshing user access tokens)", () => {
  const tokenRequest = (idp: StubIdp) => idp.requests.findLast((request) => request.path === "/token");

  test("OAuth App: body client credentials, JSON asked for; a token without expiry or refresh token", async () => {
    const idp = await stub({ vendor: "github", expiring: false });
    const github = await profileClient(idp, { kind: "github" });
    const { code, verifier, url } = await loginAt(idp, github, ["repo", "read:user"]);
    expect(url.searchParams.get("scope")).toBe("repo read:user");
    const tokens = await (github.oauth as OAuthClient).exchangeCode(code, verifier);
    expect(tokenRequest(idp)?.clientAuth).toBe("post");
    expect(tokens.accessToken.reveal()).toStartWith("gho_");
    expect(tokens).toMatchObject({ tokenType: "Bearer", scope: "repo read:user" });
    expect(tokens.expiresIn).toBeUndefined();
    expect(tokens.refreshToken).toBeUndefined();
  });

  test("GitHub App with expiring user tokens: 8 h token, rotating refresh token; a used one is bad_refresh_token", async () => {
    const idp = await stub({ vendor: "github", expiring: true, accessTokenTtl: 28_800 });
    const github = await profileClient(idp, { kind: "github" });
    const oauth = github.oauth as OAuthClient;
    const { code, verifier } = await loginAt(idp, github, []);
    const tokens = await oauth.exchangeCode(code, verifier);
    expect(tokens.accessToken.reveal()).toStartWith("ghu_");
    expect(tokens.refreshToken?.reveal()).toStartWith("ghr_");
    expect(tokens.expiresIn).toBe(28_800);
    const old = tokens.refreshToken ?? new Secret("");
    const next = await oauth.refresh(old);
    expect(next.refreshToken?.reveal()).not.toBe(old.reveal());
    expect(tokenRequest(idp)?.clientAuth).toBe("post");
    const error = await failure(oauth.refresh(old));
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("bad_refresh_token");
  });

  test("errors come as HTTP 200 with an error member: the IdP's refusal", async () => {
    const idp = await stub({ vendor: "github", expiring: false });
    const github = await profileClient(idp, { kind: "github" });
    const error = await failure(
      (github.oauth as OAuthClient).exchangeCode(new Secret("x"), new Secret(random())),
    );
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("bad_verification_code");
  });
});

describe("client authentication at the token endpoint (RFC 6749 §2.3.1)", () => {
  const tokenRequest = (idp: StubIdp) => idp.requests.findLast((request) => request.path === "/token");

  test("atlassian sends body credentials, as documented", async () => {
    const idp = await stub({ vendor: "atlassian" });
    const atlassian = await profileClient(idp, { kind: "atlassian" });
    const { code, verifier } = await loginAt(idp, atlassian, ["read:me"]);
    await (atlassian.oauth as OAuthClient).exchangeCode(code, verifier);
    expect(tokenRequest(idp)?.clientAuth).toBe("post");
  });

  test("oidc follows discovery: Basic when listed, body credentials when only they are", async () => {
    for (const [only, expected] of [
      [undefined, "basic"],
      ["post", "post"],
      ["basic", "basic"],
    ] as const) {
      const idp = await stub({ ...(only && { clientAuth: only }) });
      const corp = await profileClient(idp, {
        kind: "oidc",
        issuer: idp.issuer,
        upstreams: ["api.example.com"],
      });
      // Without openid: the stub then wants no nonce, and only client authentication is under test.
      const { code, verifier } = await loginAt(idp, corp, ["api"]);
      await (corp.oauth as OAuthClient).exchangeCode(code, verifier);
      expect(tokenRequest(idp)?.clientAuth).toBe(expected);
    }
  });

  test("an issuer offering neither Basic nor body credentials stops start-up, naming the key", async () => {
    const idp = await stub({ clientAuth: "private_key_jwt" });
    const error = await profileClient(idp, {
      kind: "oidc",
      issuer: idp.issuer,
      upstreams: ["a.example"],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toStartWith("providers.p.issuer");
    expect((error as Error).message).toContain("token_endpoint_auth_methods_supported");
  });

  test("token_endpoint_auth_method overrides the kind's choice (oauth2 defaults to Basic)", async () => {
    const idp = await stub({});
    const base = { kind: "oauth2" as const, upstreams: ["api.example.com"] };
    for (const [override, expected] of [
      [undefined, "basic"],
      ["client_secret_post", "post"],
    ] as const) {
      const provider = await profileClient(idp, {
        ...base,
        ...(override && { tokenEndpointAuthMethod: override }),
      });
      const { code, verifier } = await loginAt(idp, provider, ["api"]);
      await (provider.oauth as OAuthClient).exchangeCode(code, verifier);
      expect(tokenRequest(idp)?.clientAuth).toBe(expected);
    }
  });
});

/** An id_token the stub signs for the provider's client, with this nonce. */
async function idTokenFor(idp: StubIdp, overrides: Record<string, unknown> = {}): Promise<Secret> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: idp.issuer,
    sub: "user-1",
    aud: idp.clientId,
    nonce: "n-1",
    iat: now,
    exp: now + 300,
  };
  return new Secret(await idp.sign({ ...claims, ...overrides }));
}

describe("Google's issuer (developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken)", () => {
  test("both https://accounts.google.com and accounts.google.com are accepted as iss, nothing else", async () => {
    const idp = await stub({ signingAlg: "RS256" });
    const google = await profileClient(idp, { kind: "google", jwksUri: `${idp.issuer}/jwks` });
    const validate = (google.oauth as OAuthClient).validateIdToken;
    if (validate === undefined) throw new Error("google validates id_tokens");
    for (const iss of ["https://accounts.google.com", "accounts.google.com"]) {
      expect((await validate(await idTokenFor(idp, { iss }), "n-1")).iss).toBe(iss);
    }
    for (const iss of ["https://accounts.google.com/", "http://accounts.google.com", idp.issuer]) {
      expect((await failure(validate(await idTokenFor(idp, { iss }), "n-1"))).code).toBe("id_token_invalid");
    }
  });

  test("the scheme-less spelling is Google's alone: an oidc provider does not accept it", async () => {
    const idp = await stub({});
    const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
    const bare = idp.issuer.replace(/^http:\/\//, "");
    const error = await failure(
      (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp, { iss: bare }), "n-1") ??
        Promise.resolve(),
    );
    expect(error.code).toBe("id_token_invalid");
  });
});

describe("oidc id_token algorithms from discovery (id_token_signing_alg_values_supported)", () => {
  test.each(["RS384", "RS512", "ES384", "PS384"] as const)(
    "an IdP signing with %s is accepted",
    async (alg) => {
      const idp = await stub({ signingAlg: alg });
      const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
      const claims = await (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp), "n-1");
      expect(claims?.sub).toBe("user-1");
    },
  );

  test("only the advertised algorithms: a token in another (even asymmetric) one is refused", async () => {
    const idp = await stub({ signingAlg: "RS384", advertisedAlgs: ["RS512"] });
    const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
    const error = await failure(
      (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp), "n-1") ?? Promise.resolve(),
    );
    expect(error.code).toBe("id_token_invalid");
    expect(error.message).toContain("algorithm");
  });

  test("none and HS* are dropped from the list; a list with nothing else stops start-up naming the key", async () => {
    const mixed = await stub({ signingAlg: "RS384", advertisedAlgs: ["none", "HS256", "RS384"] });
    const corp = await profileClient(mixed, { kind: "oidc", issuer: mixed.issuer, upstreams: ["a.example"] });
    expect((await (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(mixed), "n-1"))?.sub).toBe(
      "user-1",
    );
    const symmetric = await stub({ advertisedAlgs: ["none", "HS256", "HS512"] });
    const error = await profileClient(symmetric, {
      kind: "oidc",
      issuer: symmetric.issuer,
      upstreams: ["a.example"],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toStartWith("providers.p.issuer");
    expect((error as Error).message).toContain("id_token_signing_alg_values_supported");
  });
});

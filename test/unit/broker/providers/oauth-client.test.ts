import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  createOAuthClient,
  type OAuthClientSettings,
} from "../../../../src/broker/providers/oauth-client.ts";
import { IdpError } from "../../../../src/core/errors.ts";
import type { OAuthClient } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { type StubIdp, startStubIdp } from "../../../helpers/stub-idp.ts";

const REDIRECT = "https://broker.example.test/callback";
let idp: StubIdp;
let client: OAuthClient;

beforeAll(async () => {
  idp = await startStubIdp({ redirectUris: [REDIRECT] });
  client = clientFor(idp);
});
afterEach(() => idp.setMode("normal"));
afterAll(() => idp.close());

function clientFor(stub: StubIdp, overrides: Partial<OAuthClientSettings> = {}): OAuthClient {
  const settings: OAuthClientSettings = {
    provider: "corp",
    clientId: stub.clientId,
    clientSecret: new Secret(stub.clientSecret),
    redirectUri: REDIRECT,
    authorizationEndpoint: `${stub.issuer}/authorize`,
    tokenEndpoint: `${stub.issuer}/token`,
    revocation: { style: "rfc7009", endpoint: `${stub.issuer}/revoke`, authenticate: true },
    idToken: {
      provider: "corp",
      issuer: stub.issuer,
      clientId: stub.clientId,
      jwksUri: `${stub.issuer}/jwks`,
    },
    issuer: stub.issuer,
    ...overrides,
  };
  return createOAuthClient(settings, { fetch, now: Date.now });
}

const random = () => randomBytes(32).toString("base64url");

async function login(oauth = client, stub = idp, scopes = ["openid", "email"]) {
  const request = { state: random(), codeVerifier: new Secret(random()), nonce: random(), scopes };
  const back = await stub.authorize(await oauth.authorizationUrl(request));
  return { ...request, back, code: new Secret(back.searchParams.get("code") ?? "") };
}

async function idpError(promise: Promise<unknown>, ...secrets: string[]): Promise<IdpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof IdpError)) throw new Error(`expected an IdpError, got ${String(error)}`);
  for (const secret of [idp.clientSecret, ...secrets]) expect(error.message).not.toContain(secret);
  return error;
}

describe("authorization URL", () => {
  test("carries PKCE S256, state, nonce, scopes, redirect_uri and never the verifier", async () => {
    const verifier = random();
    const oauth = clientFor(idp, { authorizationParams: { access_type: "offline", state: "overridden?" } });
    const url = await oauth.authorizationUrl({
      state: "st-1",
      codeVerifier: new Secret(verifier),
      nonce: "nc-1",
      scopes: ["openid", "email"],
    });
    const params = url.searchParams;
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/authorize`);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("client_id")).toBe(idp.clientId);
    expect(params.get("redirect_uri")).toBe(REDIRECT);
    expect(params.get("state")).toBe("st-1");
    expect(params.get("nonce")).toBe("nc-1");
    expect(params.get("scope")).toBe("openid email");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toBe(createHash("sha256").update(verifier).digest("base64url"));
    expect(params.get("access_type")).toBe("offline");
    expect(url.href).not.toContain(verifier);
  });

  test("no nonce for a plain OAuth request; the RFC 9207 issuer is exposed", async () => {
    const url = await client.authorizationUrl({
      state: "s",
      codeVerifier: new Secret(random()),
      scopes: ["repo"],
    });
    expect(url.searchParams.has("nonce")).toBe(false);
    expect(client.issuer).toBe(idp.issuer);
  });

  test("the stub answers with code, state and iss (RFC 9207), or access_denied", async () => {
    const { back, state } = await login();
    expect(back.searchParams.get("state")).toBe(state);
    expect(back.searchParams.get("iss")).toBe(idp.issuer);
    idp.setMode("deny");
    const denied = await login();
    expect(denied.back.searchParams.get("error")).toBe("access_denied");
    expect(denied.back.searchParams.has("code")).toBe(false);
  });
});

describe("code exchange", () => {
  test("returns the IdP's tokens wrapped in Secret, and a valid id_token", async () => {
    const { code, codeVerifier, nonce } = await login();
    const tokens = await client.exchangeCode(code, codeVerifier);
    expect(tokens.accessToken.reveal()).toBe(idp.lastIssued.accessToken ?? "missing");
    expect(tokens.accessToken.reveal()).toStartWith("stub-real-access-");
    expect(String(tokens.accessToken)).toBe("[redacted]");
    expect(tokens.refreshToken?.reveal()).toBe(idp.lastIssued.refreshToken ?? "missing");
    expect(tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 3600, scope: "openid email" });
    const claims = await client.validateIdToken?.(tokens.idToken ?? new Secret(""), nonce);
    expect(claims?.sub).toBe(idp.subject);
    const recorded = idp.requests.findLast((request) => request.path === "/token");
    expect(recorded).toMatchObject({
      path: "/token",
      clientAuth: "basic",
      params: { redirect_uri: REDIRECT },
    });
    expect(recorded?.params.code_verifier).toBe("[redacted]");
  });

  test("JWT access tokens come back as issued", async () => {
    const jwtIdp = await startStubIdp({ jwtAccessTokens: true });
    try {
      const oauth = clientFor(jwtIdp);
      const { code, codeVerifier } = await login(oauth, jwtIdp, ["api"]);
      const tokens = await oauth.exchangeCode(code, codeVerifier);
      expect(tokens.accessToken.reveal().split(".")).toHaveLength(3);
      expect(tokens.accessToken.reveal()).toBe(jwtIdp.lastIssued.accessToken ?? "missing");
      expect(tokens.idToken).toBeUndefined();
    } finally {
      await jwtIdp.close();
    }
  });

  test("a wrong PKCE verifier is the IdP's invalid_grant, without echoing code or verifier", async () => {
    const { code } = await login();
    const wrong = random();
    const error = await idpError(client.exchangeCode(code, new Secret(wrong)), code.reveal(), wrong);
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("invalid_grant");
  });

  test("a code is good once", async () => {
    const { code, codeVerifier } = await login();
    await client.exchangeCode(code, codeVerifier);
    expect((await idpError(client.exchangeCode(code, codeVerifier))).message).toContain("invalid_grant");
  });

  test("a wrong client secret is invalid_client", async () => {
    const { code, codeVerifier } = await login();
    const oauth = clientFor(idp, { clientSecret: new Secret("not-the-secret") });
    const error = await idpError(oauth.exchangeCode(code, codeVerifier), "not-the-secret");
    expect(error.message).toContain("invalid_client");
  });

  test.each([
    ["token_error", "idp_error"],
    ["token_500", "idp_unexpected_response"],
    // 429 is "not now", even with an OAuth error body: the agent retries rather than logging in again.
    ["token_429", "idp_unexpected_response"],
    ["garbage_json", "idp_unexpected_response"],
  ] as const)("IdP mode %s gives %s", async (mode, expected) => {
    const { code, codeVerifier } = await login();
    idp.setMode(mode);
    expect((await idpError(client.exchangeCode(code, codeVerifier), code.reveal())).code).toBe(expected);
  });

  test("an IdP that is down is idp_network", async () => {
    const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const tokenEndpoint = `http://127.0.0.1:${gone.port}/token`;
    await gone.stop(true);
    const oauth = clientFor(idp, { tokenEndpoint });
    expect((await idpError(oauth.exchangeCode(new Secret("c"), new Secret(random())))).code).toBe(
      "idp_network",
    );
  });

  test("an IdP slower than the timeout is idp_network", async () => {
    const slow = await startStubIdp({ slowMs: 5_000 });
    try {
      const oauth = clientFor(slow, { timeoutMs: 100 });
      slow.setMode("slow");
      const error = await idpError(oauth.exchangeCode(new Secret("c"), new Secret(random())));
      expect(error.code).toBe("idp_network");
      expect(error.message).toContain("no answer");
    } finally {
      await slow.close();
    }
  });

  test.each(["wrong_nonce", "wrong_aud", "bad_id_token_signature", "expired_id_token"] as const)(
    "an id_token from IdP mode %s is refused",
    async (mode) => {
      const { code, codeVerifier, nonce } = await login();
      idp.setMode(mode);
      const tokens = await client.exchangeCode(code, codeVerifier);
      const error = await idpError(
        client.validateIdToken?.(tokens.idToken ?? new Secret(""), nonce) ?? Promise.resolve(),
      );
      expect(error.code).toBe("id_token_invalid");
    },
  );
});

describe("refresh", () => {
  async function freshTokens() {
    const { code, codeVerifier } = await login();
    return client.exchangeCode(code, codeVerifier);
  }

  test("with rotation: a new refresh token, and the old one stops working", async () => {
    const first = await freshTokens();
    const old = first.refreshToken ?? new Secret("");
    const second = await client.refresh(old);
    expect(second.accessToken.reveal()).not.toBe(first.accessToken.reveal());
    expect(second.refreshToken?.reveal()).toStartWith("stub-real-refresh-");
    expect(second.refreshToken?.reveal()).not.toBe(old.reveal());
    expect((await idpError(client.refresh(old), old.reveal())).message).toContain("invalid_grant");
  });

  test("without rotation: no new refresh token, and the old one keeps working", async () => {
    const old = (await freshTokens()).refreshToken ?? new Secret("");
    idp.setMode("no_rotation");
    expect((await client.refresh(old)).refreshToken).toBeUndefined();
    expect((await client.refresh(old)).accessToken.reveal()).toStartWith("stub-real-access-");
  });

  test("a refused refresh is idp_error invalid_grant", async () => {
    const old = (await freshTokens()).refreshToken ?? new Secret("");
    idp.setMode("refresh_refused");
    const error = await idpError(client.refresh(old), old.reveal());
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("invalid_grant");
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { ClientCredentials } from "../../../../src/broker/providers/idp-request.ts";
import { createOAuthClient } from "../../../../src/broker/providers/oauth-client.ts";
import { createRevoker, type RevocationMethod } from "../../../../src/broker/providers/revoke.ts";
import type { RevocationOutcome, UpstreamTokens } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { freePort } from "../../../helpers/ports.ts";
import { type StubIdp, startStubIdp } from "../../../helpers/stub-idp.ts";

const REDIRECT = "https://broker.example.test/callback";
let idp: StubIdp;
let google: StubIdp;

beforeAll(async () => {
  [idp, google] = await Promise.all([
    startStubIdp({ redirectUris: [REDIRECT] }),
    startStubIdp({ redirectUris: [REDIRECT], vendor: "google" }),
  ]);
});
afterEach(() => {
  idp.setMode("normal");
  google.setMode("normal");
});
afterAll(() => Promise.all([idp.close(), google.close()]));

function credentials(stub: StubIdp, method: ClientCredentials["method"] = "client_secret_basic") {
  return { clientId: stub.clientId, clientSecret: new Secret(stub.clientSecret), method };
}

const transport = { fetch, timeoutMs: 5_000 };
const random = () => randomBytes(24).toString("base64url");

/** A real login at the stub, so the tokens to revoke are live ones. */
async function login(stub: StubIdp): Promise<UpstreamTokens> {
  const oauth = createOAuthClient(
    {
      provider: "corp",
      clientId: stub.clientId,
      clientSecret: new Secret(stub.clientSecret),
      redirectUri: REDIRECT,
      authorizationEndpoint: `${stub.issuer}/authorize`,
      tokenEndpoint: `${stub.issuer}/token`,
      revocation: { style: "none", reason: "unused" },
    },
    { fetch, now: Date.now },
  );
  const verifier = new Secret(random());
  const back = await stub.authorize(
    await oauth.authorizationUrl({ state: random(), codeVerifier: verifier, scopes: ["api"] }),
  );
  return oauth.exchangeCode(new Secret(back.searchParams.get("code") ?? ""), verifier);
}

function noSecretIn(outcome: RevocationOutcome, ...secrets: string[]): void {
  const text = JSON.stringify(outcome);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("RFC 7009 (GitLab /oauth/revoke, oidc revocation_endpoint)", () => {
  const method = (): RevocationMethod => ({
    style: "rfc7009",
    endpoint: `${idp.issuer}/revoke`,
    authenticate: true,
  });

  test("revokes the refresh token with Basic client credentials and the hint; the IdP then refuses it", async () => {
    const tokens = await login(idp);
    const refresh = tokens.refreshToken?.reveal() ?? "missing";
    const revoke = createRevoker(method(), credentials(idp), "gitlab", transport);
    expect(await revoke(new Secret(refresh), "refresh_token")).toEqual({ outcome: "revoked" });
    expect(idp.revocations.at(-1)).toEqual({
      path: "/revoke",
      token: refresh,
      hint: "refresh_token",
      clientAuth: "basic",
    });
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refresh });
    const auth = Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString("base64");
    const after = await fetch(`${idp.issuer}/token`, {
      method: "POST",
      body: form,
      headers: { authorization: `Basic ${auth}` },
    });
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
  });

  test("sends body credentials for a client_secret_post client", async () => {
    const tokens = await login(idp);
    const revoke = createRevoker(method(), credentials(idp, "client_secret_post"), "gitlab", transport);
    expect(await revoke(tokens.accessToken, "access_token")).toEqual({ outcome: "revoked" });
    expect(idp.revocations.at(-1)).toMatchObject({ clientAuth: "post", hint: "access_token" });
  });

  test("an already unknown token is still 200 (RFC 7009 §2.2): revoked", async () => {
    const revoke = createRevoker(method(), credentials(idp), "gitlab", transport);
    expect(await revoke(new Secret("never-issued"), "refresh_token")).toEqual({ outcome: "revoked" });
  });

  test("wrong client credentials: failed idp_error invalid_client, without the token or secret", async () => {
    const wrong = { ...credentials(idp), clientSecret: new Secret("wrong-secret-value") };
    const token = "stub-real-refresh-secretvalue";
    const outcome = await createRevoker(
      method(),
      wrong,
      "gitlab",
      transport,
    )(new Secret(token), "refresh_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_error" });
    expect(outcome.outcome === "failed" && outcome.reason).toContain("invalid_client");
    expect(outcome.outcome === "failed" && outcome.reason).toContain("provider gitlab");
    noSecretIn(outcome, token, "wrong-secret-value", idp.clientSecret);
  });

  test("unsupported_token_type (§2.2.1): unsupported, naming the kind of token", async () => {
    idp.setMode("revoke_unsupported_type");
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "corp",
      transport,
    )(new Secret("t"), "access_token");
    expect(outcome).toEqual({
      outcome: "unsupported",
      reason: "the identity provider does not revoke access_tokens",
    });
  });

  test("503 (§2.2.1, try later): failed idp_unexpected_response", async () => {
    idp.setMode("revoke_unavailable");
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "corp",
      transport,
    )(new Secret("stub-real-refresh-x"), "refresh_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_unexpected_response" });
    noSecretIn(outcome, "stub-real-refresh-x");
  });

  test("nothing listening: failed idp_network, never a throw", async () => {
    const closed: RevocationMethod = {
      style: "rfc7009",
      endpoint: `http://127.0.0.1:${freePort()}/revoke`,
      authenticate: true,
    };
    const outcome = await createRevoker(
      closed,
      credentials(idp),
      "corp",
      transport,
    )(new Secret("stub-real-refresh-y"), "refresh_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_network" });
    noSecretIn(outcome, "stub-real-refresh-y", idp.clientSecret);
  });
});

describe("Google (oauth2.googleapis.com/revoke)", () => {
  const method = (): RevocationMethod => ({
    style: "rfc7009",
    endpoint: `${google.issuer}/revoke`,
    authenticate: false,
  });

  test("sends the token alone, without client credentials, and it is revoked", async () => {
    const tokens = await login(google);
    const refresh = tokens.refreshToken?.reveal() ?? "missing";
    const revoke = createRevoker(method(), credentials(google), "google", transport);
    expect(await revoke(new Secret(refresh), "refresh_token")).toEqual({ outcome: "revoked" });
    expect(google.revocations.at(-1)).toMatchObject({ token: refresh, clientAuth: "none" });
  });

  test("Google's 400 invalid_token for an expired or revoked token counts as revoked", async () => {
    const revoke = createRevoker(method(), credentials(google), "google", transport);
    expect(await revoke(new Secret("long-gone"), "refresh_token")).toEqual({ outcome: "revoked" });
  });
});

describe("Slack (auth.revoke)", () => {
  const method = (): RevocationMethod => ({ style: "slack", endpoint: `${idp.issuer}/api/auth.revoke` });

  test("the access token is the Bearer credential; {ok:true, revoked:true} is revoked", async () => {
    const tokens = await login(idp);
    const revoke = createRevoker(method(), credentials(idp), "slack", transport);
    expect(await revoke(tokens.accessToken, "access_token")).toEqual({ outcome: "revoked" });
    expect(idp.revocations.at(-1)).toEqual({
      path: "/api/auth.revoke",
      token: tokens.accessToken.reveal(),
      clientAuth: "bearer",
    });
  });

  test("{ok:false, error:invalid_auth} is failed idp_error", async () => {
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "slack",
      transport,
    )(new Secret("xoxp-unknown"), "access_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_error" });
    expect(outcome.outcome === "failed" && outcome.reason).toContain("invalid_auth");
    noSecretIn(outcome, "xoxp-unknown");
  });

  test("a refresh token is unsupported, and nothing is sent", async () => {
    const before = idp.revocations.length;
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "slack",
      transport,
    )(new Secret("xoxe-1-refresh"), "refresh_token");
    expect(outcome.outcome).toBe("unsupported");
    expect(idp.revocations.length).toBe(before);
  });
});

describe("GitHub (DELETE /applications/{client_id}/token)", () => {
  const method = (): RevocationMethod => ({
    style: "github",
    endpoint: `${idp.issuer}/applications/${idp.clientId}/token`,
  });

  test("Basic client credentials and a JSON access_token; 204 is revoked", async () => {
    const tokens = await login(idp);
    const revoke = createRevoker(method(), credentials(idp, "client_secret_post"), "github", transport);
    expect(await revoke(tokens.accessToken, "access_token")).toEqual({ outcome: "revoked" });
    expect(idp.revocations.at(-1)).toEqual({
      path: `/applications/${idp.clientId}/token`,
      token: tokens.accessToken.reveal(),
      clientAuth: "basic",
    });
    const request = idp.requests.at(-1);
    expect(request?.method).toBe("DELETE");
  });

  test("GitHub's 404 for an unknown token or wrong credentials is failed idp_error", async () => {
    const wrong = { ...credentials(idp), clientSecret: new Secret("not-the-secret") };
    const tokens = await login(idp);
    const outcome = await createRevoker(
      method(),
      wrong,
      "github",
      transport,
    )(tokens.accessToken, "access_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_error" });
    noSecretIn(outcome, tokens.accessToken.reveal(), "not-the-secret");
  });

  test("422 (validation failed) is failed idp_error", async () => {
    idp.setMode("revoke_refused");
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "github",
      transport,
    )(new Secret("gho_x"), "access_token");
    expect(outcome).toMatchObject({ outcome: "failed", code: "idp_error" });
    expect(outcome.outcome === "failed" && outcome.reason).toContain("422");
  });

  test("a refresh token (GitHub App) is unsupported, and nothing is sent", async () => {
    const before = idp.revocations.length;
    const outcome = await createRevoker(
      method(),
      credentials(idp),
      "github",
      transport,
    )(new Secret("ghr_x"), "refresh_token");
    expect(outcome.outcome).toBe("unsupported");
    expect(idp.revocations.length).toBe(before);
  });
});

describe("no revocation (Microsoft, Atlassian)", () => {
  test("unsupported with the profile's reason; no request", async () => {
    const before = idp.requests.length;
    const reason = "Microsoft Entra ID has no token revocation endpoint";
    const outcome = await createRevoker(
      { style: "none", reason },
      credentials(idp),
      "microsoft",
      transport,
    )(new Secret("t"), "refresh_token");
    expect(outcome).toEqual({ outcome: "unsupported", reason });
    expect(idp.requests.length).toBe(before);
  });
});

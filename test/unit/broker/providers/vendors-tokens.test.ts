/**
 * Token responses against the stub IdP imitating each vendor where it departs from the RFCs
 * (status codes, field names, separators, error bodies). Each describe names the vendor page it
 * follows; docs/providers.md cites the same pages.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { OAuthClient } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import type { StubIdp } from "../../../helpers/stub-idp.ts";
import { closeStubs, failure, loginAt, profileClient, random, stub } from "./vendor-fixture.ts";

afterAll(closeStubs);

describe("Atlassian (developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens)", () => {
  test("a dead refresh token answered 403 invalid_grant is the IdP's refusal (idp_error), not an outage", async () => {
    const idp = await stub({ vendor: "atlassian" });
    const atlassian = await profileClient(idp, { kind: "atlassian" });
    const oauth = atlassian.oauth as OAuthClient;
    const { code, verifier } = await loginAt(idp, atlassian, ["read:me"]);
    const tokens = await oauth.exchangeCode(code, verifier);
    const old = tokens.refreshToken ?? new Secret("");
    await oauth.refresh(old); // rotation: the old token is now disabled
    const error = await failure(oauth.refresh(old));
    expect(error.code).toBe("idp_error");
    expect(error.message).toContain("invalid_grant");
    expect(error.message).not.toContain(old.reveal());
    expect(error.message).not.toContain("Unknown or invalid");
  });
});

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

/**
 * Each kind's revocation as resolved from configuration, called against the stub IdP: the profile
 * decides the style (RFC 7009 with or without client credentials, Slack, GitHub, none), discovery
 * or `revocation_endpoint` decides where.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { profileFor } from "../../../../src/broker/providers/profiles.ts";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import type { ProviderConfig } from "../../../../src/core/config/types.ts";
import { ConfigError } from "../../../../src/core/errors.ts";
import type { ResolvedProvider } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { baseConfig } from "../../../helpers/config.ts";
import { type StubIdp, startStubIdp } from "../../../helpers/stub-idp.ts";

let idp: StubIdp;
beforeAll(async () => {
  idp = await startStubIdp();
});
afterAll(() => idp.close());

type Input = Omit<Partial<ProviderConfig>, "kind"> & Pick<ProviderConfig, "kind">;

async function resolve(provider: Input): Promise<ResolvedProvider> {
  const oauth = { clientId: idp.clientId, clientSecret: new Secret(idp.clientSecret) };
  const config = baseConfig({
    issuer: "https://broker.example.test",
    providers: { p: { name: "p", ...oauth, ...provider } },
    policy: [],
  });
  const resolved = (await resolveProviders(config, { fetch, now: Date.now })).get("p");
  if (resolved?.oauth === undefined) throw new Error("no OAuth client resolved");
  return resolved;
}

async function revokeWith(provider: Input, hint: "access_token" | "refresh_token" = "refresh_token") {
  const before = idp.revocations.length;
  const outcome = await (await resolve(provider)).oauth?.revokeToken(new Secret("tok-123"), hint);
  return { outcome, received: idp.revocations.slice(before) };
}

describe("the built-in profiles' revocation", () => {
  test("github: DELETE /applications/{client_id}/token, the client id filled in", () => {
    expect(profileFor({ name: "g", kind: "github" }, "providers.g").revocation).toEqual({
      style: "github",
      endpoint: "https://api.github.com/applications/{client_id}/token",
    });
  });

  test("google: RFC 7009 at oauth2.googleapis.com/revoke, without client credentials", () => {
    expect(profileFor({ name: "g", kind: "google" }, "providers.g").revocation).toEqual({
      style: "rfc7009",
      endpoint: "https://oauth2.googleapis.com/revoke",
      authenticate: false,
    });
  });

  test("gitlab: RFC 7009 at <base_url>/oauth/revoke, with client credentials", () => {
    const profile = profileFor({ name: "g", kind: "gitlab", baseUrl: "https://git.corp.example/" }, "k");
    expect(profile.revocation).toEqual({
      style: "rfc7009",
      endpoint: "https://git.corp.example/oauth/revoke",
      authenticate: true,
    });
  });

  test("slack: auth.revoke", () => {
    expect(profileFor({ name: "s", kind: "slack" }, "k").revocation).toEqual({
      style: "slack",
      endpoint: "https://slack.com/api/auth.revoke",
    });
  });

  test("microsoft and atlassian: none, saying why", async () => {
    const microsoft = await revokeWith({ kind: "microsoft" });
    expect(microsoft.outcome).toMatchObject({ outcome: "unsupported" });
    expect(JSON.stringify(microsoft.outcome)).toContain(
      "Microsoft Entra ID has no token revocation endpoint",
    );
    const atlassian = await revokeWith({ kind: "atlassian" });
    expect(JSON.stringify(atlassian.outcome)).toContain("Atlassian documents no token revocation endpoint");
    expect([...microsoft.received, ...atlassian.received]).toEqual([]);
  });
});

describe("resolved and called against the stub IdP", () => {
  test("gitlab at a self-hosted base_url: /oauth/revoke with Basic client credentials", async () => {
    const { outcome, received } = await revokeWith({ kind: "gitlab", baseUrl: idp.issuer });
    expect(outcome).toEqual({ outcome: "revoked" });
    expect(received).toEqual([
      { path: "/oauth/revoke", token: "tok-123", hint: "refresh_token", clientAuth: "basic" },
    ]);
  });

  test("oidc: the discovered revocation_endpoint", async () => {
    const { outcome, received } = await revokeWith({
      kind: "oidc",
      issuer: idp.issuer,
      upstreams: ["api.example.com"],
    });
    expect(outcome).toEqual({ outcome: "revoked" });
    expect(received).toMatchObject([{ path: "/revoke", clientAuth: "basic" }]);
  });

  test("google with revocation_endpoint overridden keeps Google's style: no client credentials", async () => {
    const { received } = await revokeWith({ kind: "google", revocationEndpoint: `${idp.issuer}/revoke` });
    expect(received).toMatchObject([{ path: "/revoke", clientAuth: "none" }]);
  });

  test("github with revocation_endpoint overridden: {client_id} is filled in", async () => {
    const endpoint = `${idp.issuer}/applications/{client_id}/token`;
    const { received } = await revokeWith({ kind: "github", revocationEndpoint: endpoint }, "access_token");
    expect(received).toMatchObject([{ path: `/applications/${idp.clientId}/token`, clientAuth: "basic" }]);
  });

  test("oauth2 without a revocation_endpoint: unsupported; with one: RFC 7009", async () => {
    const endpoints = {
      authorizationEndpoint: `${idp.issuer}/authorize`,
      tokenEndpoint: `${idp.issuer}/token`,
    };
    const base = { kind: "oauth2" as const, upstreams: ["api.example.com"], ...endpoints };
    const none = await revokeWith(base);
    expect(none.outcome).toEqual({
      outcome: "unsupported",
      reason: "no revocation_endpoint was discovered or configured",
    });
    const configured = await revokeWith({ ...base, revocationEndpoint: `${idp.issuer}/revoke` });
    expect(configured.outcome).toEqual({ outcome: "revoked" });
  });

  test("a non-https revocation_endpoint is refused naming the key", async () => {
    const error = await resolve({ kind: "github", revocationEndpoint: "http://api.example.com/x" }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toStartWith("providers.p.revocation_endpoint");
  });
});

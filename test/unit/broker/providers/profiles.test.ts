/** What each built-in profile declares, as resolved from a minimal configuration (docs/providers.md). */
import { describe, expect, test } from "bun:test";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import type { ProviderConfig } from "../../../../src/core/config/types.ts";
import type { ResolvedProvider } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { baseConfig } from "../../../helpers/config.ts";

type Input = Omit<Partial<ProviderConfig>, "kind"> & Pick<ProviderConfig, "kind">;

async function resolve(provider: Input): Promise<ResolvedProvider> {
  const oauth = { clientId: "client-1", clientSecret: new Secret("s3cret") };
  const config = baseConfig({
    issuer: "https://broker.example.test",
    providers: { p: { name: "p", ...oauth, ...provider } },
    policy: [],
  });
  const resolved = (await resolveProviders(config, { fetch, now: Date.now })).get("p");
  if (resolved === undefined) throw new Error("provider not resolved");
  return resolved;
}

describe("scopes a login always needs", () => {
  test("microsoft and atlassian require offline_access (no refresh token without it), even with configured scopes", async () => {
    expect((await resolve({ kind: "microsoft" })).requiredScopes).toEqual(["offline_access"]);
    expect((await resolve({ kind: "atlassian", scopes: ["read:jira-work"] })).requiredScopes).toEqual([
      "offline_access",
    ]);
  });

  test("the others require none beyond openid for OIDC", async () => {
    for (const kind of ["github", "google", "gitlab", "slack"] as const) {
      expect((await resolve({ kind })).requiredScopes ?? []).toEqual([]);
    }
  });
});

const hosts = (provider: ResolvedProvider) => provider.upstreams.map((rule) => rule.host);

describe("upstream hosts and git", () => {
  test("github: the API hosts and github.com for git, with Basic x-access-token there; raw.githubusercontent.com only when listed", async () => {
    const github = await resolve({ kind: "github" });
    expect(hosts(github)).toEqual(["api.github.com", "uploads.github.com", "github.com"]);
    expect(github.gitInject).toMatchObject({ prefix: "Basic ", basicUser: "x-access-token" });
    expect(hosts(github)).not.toContain("raw.githubusercontent.com");
    const listed = await resolve({
      kind: "github",
      upstreams: ["api.github.com", "raw.githubusercontent.com"],
    });
    expect(hosts(listed)).toContain("raw.githubusercontent.com");
  });

  test("gitlab: its host serves both, Basic oauth2 for git; read_repository asked by default", async () => {
    const gitlab = await resolve({ kind: "gitlab", baseUrl: "https://git.corp.example" });
    expect(hosts(gitlab)).toEqual(["git.corp.example"]);
    expect(gitlab.inject).toMatchObject({ prefix: "Bearer " });
    expect(gitlab.gitInject).toMatchObject({ prefix: "Basic ", basicUser: "oauth2" });
    expect(gitlab.scopes).toEqual(["openid", "read_api", "read_repository"]);
  });

  test("slack: files.slack.com for url_private downloads", async () => {
    expect(hosts(await resolve({ kind: "slack" }))).toEqual(["slack.com", "files.slack.com"]);
  });

  test("git_inject in the configuration overrides or adds one, and is checked like inject", async () => {
    const corp = await resolve({
      kind: "oauth2",
      authorizationEndpoint: "https://as.example/authorize",
      tokenEndpoint: "https://as.example/token",
      upstreams: ["git.corp.example"],
      gitInject: "Authorization: Basic {basic:git}",
    });
    expect(corp.gitInject).toMatchObject({ basicUser: "git" });
    expect((await resolve({ kind: "google" })).gitInject).toBeUndefined();
    const bad = await resolve({ kind: "github", gitInject: "Authorization: Basic {basic:a:b}" }).catch(
      (caught: unknown) => caught,
    );
    expect((bad as Error).message).toStartWith("providers.p.git_inject");
  });
});

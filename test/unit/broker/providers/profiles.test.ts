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

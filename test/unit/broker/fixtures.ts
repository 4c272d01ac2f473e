/**
 * Shared setup for the broker tests: a provider record and a scripted identity provider. The
 * OAuthClient here is a test double of the IdP's HTTP interface only; all crypto (keys, wrappers,
 * certificates) in these tests is real.
 */
import { IdpError } from "../../../src/errors.ts";
import type { OAuthClient, ResolvedProvider, UpstreamTokens } from "../../../src/providers/types.ts";
import { Secret } from "../../../src/secret.ts";

export const ISSUER = "https://broker.test.example";

export function testProvider(overrides: Partial<ResolvedProvider> = {}): ResolvedProvider {
  return {
    name: "corp",
    kind: "oidc",
    upstreams: [{ scheme: "https", host: "api.corp.example", port: 443, wildcard: false }],
    inject: { header: "authorization", prefix: "Bearer ", suffix: "" },
    scopes: ["openid", "email"],
    jwtAccessTokens: false,
    oidc: true,
    ...overrides,
  };
}

/** What the scripted IdP does on the next refresh: answer with tokens, or fail with an IdpError code. */
export type IdpStep = UpstreamTokens | "idp_error" | "idp_network" | "idp_unexpected_response";

/** An IdP whose refresh endpoint answers from a script and records the refresh tokens it was sent. */
export interface ScriptedIdp extends OAuthClient {
  received: string[];
  script: IdpStep[];
  /** When set, refresh() waits for this before answering (to hold requests in flight). */
  gate?: Promise<void>;
}

export function scriptedIdp(script: IdpStep[] = []): ScriptedIdp {
  const idp: ScriptedIdp = {
    received: [],
    script,
    authorizationUrl: async () => new URL("https://idp.test.example/authorize"),
    exchangeCode: async () => {
      throw new IdpError("idp_error", "exchangeCode is not scripted");
    },
    refresh: async (refreshToken) => {
      idp.received.push(refreshToken.reveal());
      await idp.gate;
      const step = idp.script.shift();
      if (step === undefined) throw new IdpError("idp_unexpected_response", "script exhausted");
      if (typeof step === "string") throw new IdpError(step, `scripted ${step}`);
      return step;
    },
  };
  return idp;
}

export function upstreamTokens(access: string, extra: Partial<UpstreamTokens> = {}): UpstreamTokens {
  return { accessToken: new Secret(access), tokenType: "Bearer", ...extra };
}

/**
 * Shared setup for the broker tests: a provider record and a scripted identity provider. The
 * OAuthClient here is a test double of the IdP's HTTP interface only; all crypto (keys, wrappers,
 * certificates) in these tests is real.
 */
import type { AgentRequest } from "../../../src/agent-port/http1/types.ts";
import type { Config, PolicyRule } from "../../../src/core/config/types.ts";
import { IdpError } from "../../../src/core/errors.ts";
import { describeCertificate } from "../../../src/core/identity/certificate.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import type {
  OAuthClient,
  ResolvedProvider,
  TokenHint,
  UpstreamTokens,
} from "../../../src/core/provider/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { baseConfig } from "../../helpers/config.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { testPki } from "../../helpers/pki.ts";

export const ISSUER = "https://broker.test.example";

/** Fresh keys and the identities of the test PKI's alpha, beta and CN-only client certificates. */
export async function brokerParties(): Promise<{
  keys: KeySets;
  alpha: ClientIdentity;
  beta: ClientIdentity;
  cnOnly: ClientIdentity;
}> {
  const [keys, pki] = await Promise.all([testKeySets(), testPki()]);
  return {
    keys,
    alpha: describeCertificate(pki.alpha.der),
    beta: describeCertificate(pki.beta.der),
    cnOnly: describeCertificate(pki.cnOnly.der),
  };
}

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
  /** Tokens passed to revokeToken, in order; each is answered `revoked`. */
  revocations: Array<{ token: string; hint: TokenHint }>;
  script: IdpStep[];
  /** When set, refresh() waits for this before answering (to hold requests in flight). */
  gate?: Promise<void> | undefined;
}

export function scriptedIdp(script: IdpStep[] = []): ScriptedIdp {
  const idp: ScriptedIdp = {
    received: [],
    revocations: [],
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
    revokeToken: async (token, hint) => {
      idp.revocations.push({ token: token.reveal(), hint });
      return { outcome: "revoked" };
    },
  };
  return idp;
}

export function upstreamTokens(access: string, extra: Partial<UpstreamTokens> = {}): UpstreamTokens {
  return { accessToken: new Secret(access), tokenType: "Bearer", ...extra };
}

/** A complete Config for the agent API; only issuer, token_ttl, rendezvous and policy matter here. */
export function testConfig(
  overrides: {
    policy?: PolicyRule[];
    rendezvous?: Partial<Config["rendezvous"]>;
    agent?: Partial<Config["agent"]>;
    refreshTtl?: number;
  } = {},
): Config {
  const defaults = baseConfig({ issuer: ISSUER });
  return baseConfig({
    issuer: ISSUER,
    ...(overrides.refreshTtl === undefined ? {} : { refreshTtl: overrides.refreshTtl }),
    agent: { ...defaults.agent, ...overrides.agent },
    rendezvous: { ...defaults.rendezvous, ...overrides.rendezvous },
    policy: overrides.policy ?? [
      { workload: "spiffe://test.example/agents/*", providers: ["corp", "vault", "gh", "ms"] },
    ],
  });
}

export interface RequestInit {
  method?: string;
  target?: string;
  contentType?: string;
  body?: string;
}

/** An AgentRequest as the agent server builds it after the TLS handshake. */
export function agentRequest(client: ClientIdentity, init: RequestInit): AgentRequest {
  const headers = new Headers({ "content-type": init.contentType ?? "application/x-www-form-urlencoded" });
  const body = init.body === undefined ? null : new Response(init.body).body;
  return {
    method: init.method ?? "POST",
    target: init.target ?? "/v1/token",
    rawHeaders: [...headers.entries()],
    headers,
    body,
    signal: new AbortController().signal,
    client,
  };
}

/** Form-encodes parameters, as `surrogate login` sends them. */
export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

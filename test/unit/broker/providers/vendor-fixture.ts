/**
 * Shared set-up of the vendor tests: a stub IdP imitating one vendor (closeStubs after each file), and a
 * built-in profile resolved from configuration with its endpoints moved to that stub.
 */
import { randomBytes } from "node:crypto";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import type { ProviderConfig } from "../../../../src/core/config/types.ts";
import { IdpError } from "../../../../src/core/errors.ts";
import type { OAuthClient, ResolvedProvider } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { baseConfig } from "../../../helpers/config.ts";
import { type StubIdp, type StubIdpOptions, startStubIdp } from "../../../helpers/stub-idp.ts";

const stubs: StubIdp[] = [];

/** Each test file calls it in its afterAll: stops the stubs it started. */
export async function closeStubs(): Promise<void> {
  await Promise.all(stubs.splice(0).map((started) => started.close()));
}

export async function stub(options: StubIdpOptions): Promise<StubIdp> {
  const started = await startStubIdp(options);
  stubs.push(started);
  return started;
}

export const random = (): string => randomBytes(24).toString("base64url");

export type Input = Omit<Partial<ProviderConfig>, "kind"> & Pick<ProviderConfig, "kind">;

/** A built-in profile resolved from configuration, its endpoints moved to the stub IdP. */
export async function profileClient(idp: StubIdp, provider: Input): Promise<ResolvedProvider> {
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

/** The authorization request the provider builds, answered by the stub (auto-approval). */
export async function loginAt(idp: StubIdp, provider: ResolvedProvider, scopes: string[]) {
  const oauth = provider.oauth as OAuthClient;
  const verifier = new Secret(random());
  const url = await oauth.authorizationUrl({ state: random(), codeVerifier: verifier, scopes });
  const back = await idp.authorize(url);
  return { url, back, verifier, code: new Secret(back.searchParams.get("code") ?? "") };
}

export async function failure(promise: Promise<unknown>): Promise<IdpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof IdpError)) throw new Error(`expected an IdpError, got ${String(error)}`);
  return error;
}

/** An id_token the stub signs for the provider's client, with nonce `n-1`. */
export async function idTokenFor(idp: StubIdp, overrides: Record<string, unknown> = {}): Promise<Secret> {
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

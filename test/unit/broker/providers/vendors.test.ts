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
import { IdpError } from "../../../../src/core/errors.ts";
import type { OAuthClient, UpstreamTokens } from "../../../../src/core/provider/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
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
    const oauth = clientFor(idp);
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

/**
 * Client authentication and id_token checks as vendors and discovery documents say: body or Basic
 * credentials, Google's two issuer spellings, the algorithms an OpenID provider advertises.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ConfigError } from "../../../../src/core/errors.ts";
import type { OAuthClient } from "../../../../src/core/provider/types.ts";
import type { StubIdp } from "../../../helpers/stub-idp.ts";
import { closeStubs, failure, idTokenFor, loginAt, profileClient, stub } from "./vendor-fixture.ts";

afterAll(closeStubs);

describe("client authentication at the token endpoint (RFC 6749 §2.3.1)", () => {
  const tokenRequest = (idp: StubIdp) => idp.requests.findLast((request) => request.path === "/token");

  test("atlassian sends body credentials, as documented", async () => {
    const idp = await stub({ vendor: "atlassian" });
    const atlassian = await profileClient(idp, { kind: "atlassian" });
    const { code, verifier } = await loginAt(idp, atlassian, ["read:me"]);
    await (atlassian.oauth as OAuthClient).exchangeCode(code, verifier);
    expect(tokenRequest(idp)?.clientAuth).toBe("post");
  });

  test("oidc follows discovery: Basic when listed, body credentials when only they are", async () => {
    for (const [only, expected] of [
      [undefined, "basic"],
      ["post", "post"],
      ["basic", "basic"],
    ] as const) {
      const idp = await stub({ ...(only && { clientAuth: only }) });
      const corp = await profileClient(idp, {
        kind: "oidc",
        issuer: idp.issuer,
        upstreams: ["api.example.com"],
      });
      // Without openid: the stub then wants no nonce, and only client authentication is under test.
      const { code, verifier } = await loginAt(idp, corp, ["api"]);
      await (corp.oauth as OAuthClient).exchangeCode(code, verifier);
      expect(tokenRequest(idp)?.clientAuth).toBe(expected);
    }
  });

  test("an issuer offering neither Basic nor body credentials stops start-up, naming the key", async () => {
    const idp = await stub({ clientAuth: "private_key_jwt" });
    const error = await profileClient(idp, {
      kind: "oidc",
      issuer: idp.issuer,
      upstreams: ["a.example"],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toStartWith("providers.p.issuer");
    expect((error as Error).message).toContain("token_endpoint_auth_methods_supported");
  });

  test("token_endpoint_auth_method overrides the kind's choice (oauth2 defaults to Basic)", async () => {
    const idp = await stub({});
    const base = { kind: "oauth2" as const, upstreams: ["api.example.com"] };
    for (const [override, expected] of [
      [undefined, "basic"],
      ["client_secret_post", "post"],
    ] as const) {
      const provider = await profileClient(idp, {
        ...base,
        ...(override && { tokenEndpointAuthMethod: override }),
      });
      const { code, verifier } = await loginAt(idp, provider, ["api"]);
      await (provider.oauth as OAuthClient).exchangeCode(code, verifier);
      expect(tokenRequest(idp)?.clientAuth).toBe(expected);
    }
  });
});

describe("Google's issuer (developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken)", () => {
  test("both https://accounts.google.com and accounts.google.com are accepted as iss, nothing else", async () => {
    const idp = await stub({ signingAlg: "RS256" });
    const google = await profileClient(idp, { kind: "google", jwksUri: `${idp.issuer}/jwks` });
    const validate = (google.oauth as OAuthClient).validateIdToken;
    if (validate === undefined) throw new Error("google validates id_tokens");
    for (const iss of ["https://accounts.google.com", "accounts.google.com"]) {
      expect((await validate(await idTokenFor(idp, { iss }), "n-1")).iss).toBe(iss);
    }
    for (const iss of ["https://accounts.google.com/", "http://accounts.google.com", idp.issuer]) {
      expect((await failure(validate(await idTokenFor(idp, { iss }), "n-1"))).code).toBe("id_token_invalid");
    }
  });

  test("the scheme-less spelling is Google's alone: an oidc provider does not accept it", async () => {
    const idp = await stub({});
    const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
    const bare = idp.issuer.replace(/^http:\/\//, "");
    const error = await failure(
      (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp, { iss: bare }), "n-1") ??
        Promise.resolve(),
    );
    expect(error.code).toBe("id_token_invalid");
  });
});

describe("oidc id_token algorithms from discovery (id_token_signing_alg_values_supported)", () => {
  test.each(["RS384", "RS512", "ES384", "PS384"] as const)(
    "an IdP signing with %s is accepted",
    async (alg) => {
      const idp = await stub({ signingAlg: alg });
      const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
      const claims = await (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp), "n-1");
      expect(claims?.sub).toBe("user-1");
    },
  );

  test("only the advertised algorithms: a token in another (even asymmetric) one is refused", async () => {
    const idp = await stub({ signingAlg: "RS384", advertisedAlgs: ["RS512"] });
    const corp = await profileClient(idp, { kind: "oidc", issuer: idp.issuer, upstreams: ["a.example"] });
    const error = await failure(
      (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(idp), "n-1") ?? Promise.resolve(),
    );
    expect(error.code).toBe("id_token_invalid");
    expect(error.message).toContain("algorithm");
  });

  test("none and HS* are dropped from the list; a list with nothing else stops start-up naming the key", async () => {
    const mixed = await stub({ signingAlg: "RS384", advertisedAlgs: ["none", "HS256", "RS384"] });
    const corp = await profileClient(mixed, { kind: "oidc", issuer: mixed.issuer, upstreams: ["a.example"] });
    expect((await (corp.oauth as OAuthClient).validateIdToken?.(await idTokenFor(mixed), "n-1"))?.sub).toBe(
      "user-1",
    );
    const symmetric = await stub({ advertisedAlgs: ["none", "HS256", "HS512"] });
    const error = await profileClient(symmetric, {
      kind: "oidc",
      issuer: symmetric.issuer,
      upstreams: ["a.example"],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toStartWith("providers.p.issuer");
    expect((error as Error).message).toContain("id_token_signing_alg_values_supported");
  });
});

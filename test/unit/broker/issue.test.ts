import { beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { issueWrappers } from "../../../src/broker/issue.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { openWrapper } from "../../../src/core/token/open.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { certificateBound } from "../../helpers/bindings.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { ISSUER, testProvider, upstreamTokens } from "./fixtures.ts";

const NOW = Date.UTC(2030, 0, 1);
const NOW_S = NOW / 1000;
const THUMBPRINT = Buffer.alloc(32, 7).toString("base64url");
const options = { issuer: ISSUER, tokenTtl: 3600, now: NOW };

let keys: KeySets;
beforeAll(async () => {
  keys = await testKeySets();
});

/** A real JWT as an IdP would issue it (its own key, which the broker never checks). */
function idpJwt(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode("the IdP's own key, unknown to the broker"));
}

const verifyAccess = (token: string) => verifyWrapper(token, "access", keys, { issuer: ISSUER, now: NOW });

describe("issueWrappers", () => {
  test("a JWT access token: its claims are copied, broker claims override them", async () => {
    const accessToken = await idpJwt({
      sub: "user-1",
      email: "u@corp.example",
      groups: ["eng"],
      iss: "https://idp.corp.example",
      aud: "api",
      exp: NOW_S + 100_000,
      jti: "idp-jti",
      cnf: { "x5t#S256": "attacker" },
      scope: "admin",
    });
    const context = {
      provider: testProvider({ jwtAccessTokens: true }),
      bindings: certificateBound(THUMBPRINT),
      requestedScope: ["openid"],
    };
    const { body, jti } = await issueWrappers(
      upstreamTokens(accessToken, { expiresIn: 600, scope: "openid email" }),
      context,
      keys,
      options,
    );
    const wrapper = await verifyAccess(body.access_token);
    expect(wrapper.claims).toMatchObject({ sub: "user-1", email: "u@corp.example", groups: ["eng"] });
    expect(wrapper.claims.iss).toBe(ISSUER);
    expect(wrapper.claims.aud).toBe("surrogate");
    expect(wrapper.jti).toBe(jti);
    expect(wrapper.jti).not.toBe("idp-jti");
    expect(wrapper.binding).toEqual({ kind: "x5t#S256", value: THUMBPRINT });
    expect(wrapper.provider).toBe("corp");
    expect(wrapper.scope).toBe("openid email");
    expect(wrapper.exp).toBe(NOW_S + 600);
    const sealed = await openWrapper(wrapper, keys);
    expect(sealed.token.reveal()).toBe(accessToken);
    expect(sealed.type).toBe("Bearer");
    expect(body).toEqual({
      access_token: body.access_token,
      token_type: "Bearer",
      expires_in: 600,
      scope: "openid email",
    });
    expect(decodeProtectedHeader(body.access_token).typ).toBe("surrogate+jwt");
  });

  test("an opaque access token: sub and email come from the validated id_token claims only", async () => {
    const context = {
      provider: testProvider({ jwtAccessTokens: true }),
      bindings: certificateBound(THUMBPRINT),
      requestedScope: ["openid", "email"],
      idClaims: { sub: "user-2", email: "v@corp.example", nonce: "n", at_hash: "h", name: 7 },
    };
    const { body } = await issueWrappers(upstreamTokens("gho_opaque"), context, keys, options);
    const wrapper = await verifyAccess(body.access_token);
    expect(wrapper.claims.sub).toBe("user-2");
    expect(wrapper.claims.email).toBe("v@corp.example");
    expect(wrapper.claims.nonce).toBeUndefined();
    expect(wrapper.claims.at_hash).toBeUndefined();
    expect(body.scope).toBe("openid email");
    expect((await openWrapper(wrapper, keys)).token.reveal()).toBe("gho_opaque");
  });

  test("a JWT access token is not decoded when the provider does not declare JWT access tokens", async () => {
    const accessToken = await idpJwt({ sub: "from-token", groups: ["x"] });
    const context = {
      provider: testProvider({ jwtAccessTokens: false }),
      bindings: certificateBound(THUMBPRINT),
      requestedScope: [],
      idClaims: { sub: "from-id-token" },
    };
    const wrapper = await verifyAccess(
      (await issueWrappers(upstreamTokens(accessToken), context, keys, options)).body.access_token,
    );
    expect(wrapper.claims.sub).toBe("from-id-token");
    expect(wrapper.claims.groups).toBeUndefined();
  });

  test("an oversized JWT access token keeps only its identity claims", async () => {
    const accessToken = await idpJwt({ sub: "user-3", email: "w@corp.example", blob: "x".repeat(5000) });
    const context = {
      provider: testProvider({ jwtAccessTokens: true }),
      bindings: certificateBound(THUMBPRINT),
      requestedScope: [],
    };
    const wrapper = await verifyAccess(
      (await issueWrappers(upstreamTokens(accessToken), context, keys, options)).body.access_token,
    );
    expect(wrapper.claims.sub).toBe("user-3");
    expect(wrapper.claims.blob).toBeUndefined();
  });

  test("expiry: upstream expires_in when shorter, token_ttl when longer or unknown", async () => {
    const context = { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] };
    const long = await issueWrappers(upstreamTokens("a", { expiresIn: 28_800 }), context, keys, options);
    expect(long.body.expires_in).toBe(3600);
    expect((await verifyAccess(long.body.access_token)).exp).toBe(NOW_S + 3600);
    const unknown = await issueWrappers(upstreamTokens("a"), context, keys, options);
    expect(unknown.body.expires_in).toBe(3600);
    const short = await issueWrappers(upstreamTokens("a", { expiresIn: 60 }), context, keys, options);
    expect(short.body.expires_in).toBe(60);
    const nonsense = await issueWrappers(upstreamTokens("a", { expiresIn: -5 }), context, keys, options);
    expect(nonsense.body.expires_in).toBe(3600);
  });

  test("a refresh wrapper when the IdP gave a refresh token, bound to the same certificate", async () => {
    const context = {
      provider: testProvider(),
      bindings: certificateBound(THUMBPRINT),
      requestedScope: ["openid"],
      idClaims: { sub: "user-4" },
    };
    const tokens = upstreamTokens("access-1", { refreshToken: new Secret("refresh-1") });
    const { body } = await issueWrappers(tokens, context, keys, options);
    expect(body.refresh_token).toBeString();
    const refresh = await verifyWrapper(body.refresh_token ?? "", "refresh", keys, {
      issuer: ISSUER,
      now: NOW,
    });
    expect(refresh.binding).toEqual({ kind: "x5t#S256", value: THUMBPRINT });
    expect(refresh.provider).toBe("corp");
    expect(refresh.claims.sub).toBe("user-4");
    expect(refresh.claims.aud).toBe("surrogate-broker");
    const sealed = await openWrapper(refresh, keys);
    expect(sealed.token.reveal()).toBe("refresh-1");
    expect(sealed.type).toBe("refresh");
    // Each kind is accepted only where it belongs.
    await expect(verifyAccess(body.refresh_token ?? "")).rejects.toThrow();
    await expect(
      verifyWrapper(body.access_token, "refresh", keys, { issuer: ISSUER, now: NOW }),
    ).rejects.toThrow();
  });

  test("the refresh wrapper lives for refresh_ttl, the access wrapper for token_ttl", async () => {
    const context = { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] };
    const tokens = upstreamTokens("access-2", { refreshToken: new Secret("refresh-2"), expiresIn: 7200 });
    const { body } = await issueWrappers(tokens, context, keys, { ...options, refreshTtl: 30 * 86400 });
    expect((await verifyAccess(body.access_token)).exp).toBe(NOW_S + 3600);
    const refresh = await verifyWrapper(body.refresh_token ?? "", "refresh", keys, {
      issuer: ISSUER,
      now: NOW,
    });
    expect(refresh.exp).toBe(NOW_S + 30 * 86400);
    const { body: capped } = await issueWrappers(tokens, context, keys, options);
    const fallback = await verifyWrapper(capped.refresh_token ?? "", "refresh", keys, {
      issuer: ISSUER,
      now: NOW,
    });
    expect(fallback.exp).toBe(NOW_S + 3600);
  });

  test("no refresh wrapper for an expiring token without an upstream refresh token", async () => {
    const context = { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] };
    const tokens = upstreamTokens("access-only", { expiresIn: 900 });
    const { body } = await issueWrappers(tokens, context, keys, options);
    expect("refresh_token" in body).toBe(false);
  });

  test("a token that never expires is sealed in the refresh wrapper itself, with its type", async () => {
    const context = { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] };
    const tokens = upstreamTokens("xoxp-forever", { tokenType: "user" });
    const { body } = await issueWrappers(tokens, context, keys, options);
    const wrapper = await verifyWrapper(body.refresh_token ?? "", "refresh", keys, {
      issuer: ISSUER,
      now: NOW,
    });
    const sealed = await openWrapper(wrapper, keys);
    expect({ token: sealed.token.reveal(), type: sealed.type }).toEqual({
      token: "xoxp-forever",
      type: "user",
    });
  });

  test("the response body never contains an upstream secret in the clear", async () => {
    const context = { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] };
    const tokens = upstreamTokens("upstream-access-secret", {
      refreshToken: new Secret("upstream-refresh-secret"),
    });
    const { body } = await issueWrappers(tokens, context, keys, options);
    const text = JSON.stringify(body);
    expect(text).not.toContain("upstream-access-secret");
    expect(text).not.toContain("upstream-refresh-secret");
    expect(JSON.stringify(decodeJwt(body.access_token))).not.toContain("upstream-access-secret");
  });

  test("exp ≤ the bound certificate's notAfter; exp_bound says which bound applied; jkt is not capped", async () => {
    const tokens = upstreamTokens("upstream-access", { expiresIn: 1800, refreshToken: new Secret("r") });
    const issue = async (bindings: ReturnType<typeof certificateBound>) =>
      (await issueWrappers(tokens, { provider: testProvider(), bindings, requestedScope: [] }, keys, options))
        .body;
    const expiring = { ...certificateBound(THUMBPRINT), certificateNotAfter: NOW_S + 300 };
    const capped = decodeJwt((await issue(expiring)).access_token);
    expect({ exp: capped.exp, bound: capped.exp_bound }).toEqual({ exp: NOW_S + 300, bound: "certificate" });
    const upstreamFirst = decodeJwt((await issue(certificateBound(THUMBPRINT))).access_token);
    expect({ exp: upstreamFirst.exp, bound: upstreamFirst.exp_bound }).toEqual({
      exp: NOW_S + 1800,
      bound: "upstream",
    });
    const keyBound = { ...expiring, access: { kind: "jkt", value: THUMBPRINT } as const };
    const uncapped = decodeJwt((await issue(keyBound)).access_token);
    expect({ exp: uncapped.exp, bound: uncapped.exp_bound }).toEqual({
      exp: NOW_S + 1800,
      bound: "upstream",
    });
    const noUpstreamExpiry = upstreamTokens("upstream-access", { refreshToken: new Secret("r") });
    const ttl = decodeJwt(
      (
        await issueWrappers(
          noUpstreamExpiry,
          { provider: testProvider(), bindings: certificateBound(THUMBPRINT), requestedScope: [] },
          keys,
          options,
        )
      ).body.access_token,
    );
    expect({ exp: ttl.exp, bound: ttl.exp_bound }).toEqual({ exp: NOW_S + 3600, bound: "token_ttl" });
  });
});

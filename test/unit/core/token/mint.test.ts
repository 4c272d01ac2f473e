import { describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { TokenError } from "../../../../src/core/errors.ts";
import type { KeySets } from "../../../../src/core/keys/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { mintWrapper } from "../../../../src/core/token/mint.ts";
import type { MintRequest } from "../../../../src/core/token/types.ts";
import { testKeySets } from "../../../helpers/keys.ts";

const NOW = Date.UTC(2030, 0, 1) + 123;
const NOW_S = Math.floor(NOW / 1000);
const OPTIONS = { issuer: "https://broker.test", tokenTtl: 3600, now: NOW };
const THUMB = "t".repeat(43);
const keys = await testKeySets();

function request(extra: Partial<MintRequest> = {}): MintRequest {
  return {
    kind: "access",
    provider: "github",
    binding: { kind: "x5t#S256", value: THUMB },
    secret: { token: new Secret("gho_SECRETVALUE"), type: "Bearer" },
    ...extra,
  };
}

async function mintFails(req: MintRequest, with_: KeySets = keys, options = OPTIONS): Promise<string> {
  const error = await mintWrapper(req, with_, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).message).not.toContain("SECRETVALUE");
  return (error as TokenError).message;
}

describe("mintWrapper", () => {
  test("header carries the signer's alg and kid and the access typ", async () => {
    const { token } = await mintWrapper(request(), keys, OPTIONS);
    expect(decodeProtectedHeader(token)).toEqual({
      alg: "ES256",
      kid: keys.signer!.kid,
      typ: "surrogate+jwt",
    });
  });

  test("refresh wrappers use the refresh typ and audience", async () => {
    const req = request({ kind: "refresh", secret: { token: new Secret("r"), type: "refresh" } });
    const { token } = await mintWrapper(req, keys, OPTIONS);
    expect(decodeProtectedHeader(token).typ).toBe("surrogate-refresh+jwt");
    expect(decodeJwt(token).aud).toBe("surrogate-broker");
  });

  test("broker-owned claims override copied ones; act, may_act and copied scope are dropped", async () => {
    const claims = {
      sub: "alice",
      email: "a@example.com",
      iss: "https://idp",
      aud: "api",
      exp: 1,
      iat: 1,
      nbf: 1,
      jti: "copied",
      auth_time: 1,
      sid: "copied",
      prv: "evil",
      cnf: { jkt: "x" },
      tok: "copied",
      act: { sub: "admin" },
      may_act: { sub: "admin" },
      scope: "admin",
    };
    const { token, jti, exp } = await mintWrapper(request({ claims, scope: "repo" }), keys, OPTIONS);
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({
      sub: "alice",
      email: "a@example.com",
      iss: OPTIONS.issuer,
      aud: "surrogate",
    });
    expect(payload).toMatchObject({
      iat: NOW_S,
      nbf: NOW_S,
      exp: NOW_S + 3600,
      jti,
      auth_time: NOW_S,
      prv: "github",
      scope: "repo",
    });
    expect(payload.sid).not.toBe("copied");
    expect(payload.exp).toBe(exp);
    expect(payload.cnf).toEqual({ "x5t#S256": THUMB });
    expect(payload.tok).not.toBe("copied");
    expect(payload.act).toBeUndefined();
    expect(payload.may_act).toBeUndefined();
    const noScope = decodeJwt((await mintWrapper(request({ claims }), keys, OPTIONS)).token);
    expect(noScope.scope).toBeUndefined();
  });

  test("a copied __proto__ claim stays plain data", async () => {
    const claims = JSON.parse('{"__proto__":{"polluted":true},"sub":"x"}') as Record<string, unknown>;
    const payload = decodeJwt((await mintWrapper(request({ claims }), keys, OPTIONS)).token);
    expect(payload.sub).toBe("x");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("exp is min(upstream expiry, now + token_ttl)", async () => {
    expect((await mintWrapper(request({ expiresAt: NOW_S + 60 }), keys, OPTIONS)).exp).toBe(NOW_S + 60);
    expect((await mintWrapper(request({ expiresAt: NOW_S + 99_999 }), keys, OPTIONS)).exp).toBe(NOW_S + 3600);
    expect(await mintFails(request({ expiresAt: NOW_S }))).toContain("expired");
  });

  test("jti is random, at least 128 bits", async () => {
    const a = await mintWrapper(request(), keys, OPTIONS);
    const b = await mintWrapper(request(), keys, OPTIONS);
    expect(a.jti).not.toBe(b.jti);
    expect(Buffer.from(a.jti, "base64url").length).toBeGreaterThanOrEqual(16);
  });

  test("the upstream token never appears in the wrapper in the clear", async () => {
    const { token } = await mintWrapper(request(), keys, OPTIONS);
    const decoded = token
      .split(".")
      .map((part) => Buffer.from(part, "base64url").toString("latin1"))
      .join();
    expect(`${token}${decoded}`).not.toContain("SECRETVALUE");
    const tok = String(decodeJwt(token).tok);
    expect(decodeProtectedHeader(tok)).toEqual({ alg: "dir", enc: "A256GCM", kid: keys.encrypter.kid });
  });

  test("refuses bad requests", async () => {
    expect(await mintFails(request({ binding: { kind: "x5t#S256", value: "short" } }))).toContain("x5t#S256");
    expect(await mintFails(request({ provider: "" }))).toContain("provider");
    expect(
      await mintFails(request({ secret: { token: new Secret("SECRETVALUE"), type: "refresh" } })),
    ).toContain("refresh");
    expect(await mintFails(request({ secret: { token: new Secret("SECRETVALUE"), type: "" } }))).toContain(
      "non-empty",
    );
    expect(await mintFails(request(), keys, { ...OPTIONS, tokenTtl: 0 })).toContain("token_ttl");
    expect(await mintFails(request({ claims: { big: "x".repeat(20_000) } }))).toContain("size limit");
    const { signer: _signer, ...verifyOnly } = keys;
    expect(await mintFails(request(), verifyOnly)).toContain("no signing key");
    expect(await mintFails(request({ login: { authTime: NOW_S + 1, sid: "s" } }))).toContain("future");
    expect(await mintFails(request({ login: { authTime: NOW_S, sid: "" } }))).toContain("login");
  });

  test("auth_time and sid: carried from the login, or a login of its own (seal) when none is given", async () => {
    const login = { authTime: NOW_S - 500, sid: "login-abc" };
    const carried = await mintWrapper(request({ login }), keys, OPTIONS);
    expect(decodeJwt(carried.token)).toMatchObject({ auth_time: NOW_S - 500, sid: "login-abc" });
    expect(carried.login).toEqual(login);
    const own = await mintWrapper(request(), keys, OPTIONS);
    const other = await mintWrapper(request(), keys, OPTIONS);
    expect(decodeJwt(own.token).auth_time).toBe(NOW_S);
    expect(own.login.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(own.login.sid).not.toBe(other.login.sid);
    expect(decodeJwt(own.token).sid).toBe(own.login.sid);
  });
});

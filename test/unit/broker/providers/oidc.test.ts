import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { createIdTokenValidator, type IdTokenValidator } from "../../../../src/broker/providers/oidc.ts";
import { definedOnly } from "../../../../src/core/config/defined.ts";
import { IdpError } from "../../../../src/core/errors.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { type StubIdp, startStubIdp } from "../../../helpers/stub-idp.ts";

const NONCE = "n-0123456789abcdef";
const TENANT = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
let idp: StubIdp;
let validate: IdTokenValidator;

beforeAll(async () => {
  idp = await startStubIdp();
  validate = validatorFor(idp.issuer);
});
afterAll(() => idp.close());

function validatorFor(issuer: string, jwksUri = `${idp.issuer}/jwks`): IdTokenValidator {
  const rules = { provider: "corp", issuer, clientId: idp.clientId, jwksUri };
  return createIdTokenValidator(rules, { fetch, now: Date.now });
}

/** Claims over the valid defaults; a member set to undefined is left out of the token. */
type ClaimOverrides = { [K in keyof JWTPayload]?: JWTPayload[K] | undefined };

function claims(overrides: ClaimOverrides = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: idp.issuer, sub: "user-1", aud: idp.clientId, nonce: NONCE, iat: now, exp: now + 300 };
  return definedOnly({ ...base, ...overrides });
}

async function rejection(token: string, nonce = NONCE, check = validate): Promise<IdpError> {
  const error = await check(new Secret(token), nonce).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof IdpError)) throw new Error(`expected an IdpError, got ${String(error)}`);
  // Messages name the rule, never the token or its parts.
  for (const part of token.split(".")) if (part.length > 8) expect(error.message).not.toContain(part);
  return error;
}

function unsigned(payload: JWTPayload, alg = "none"): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg, kid: "stub-1" })}.${encode(payload)}.`;
}

describe("id_token validation", () => {
  test("a token signed by the IdP's key with every claim right is accepted", async () => {
    const result = await validate(new Secret(await idp.sign(claims({ azp: idp.clientId }))), NONCE);
    expect(result.sub).toBe("user-1");
    expect(result.nonce).toBe(NONCE);
  });

  test("a tampered payload fails the signature check", async () => {
    const [header, , signature] = (await idp.sign(claims())).split(".");
    const forged = Buffer.from(JSON.stringify(claims({ sub: "admin" }))).toString("base64url");
    expect((await rejection(`${header}.${forged}.${signature}`)).code).toBe("id_token_invalid");
  });

  test("a token signed by another key under the IdP's kid is refused", async () => {
    const other = await generateKeyPair("ES256");
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", kid: "stub-1" })
      .sign(other.privateKey);
    const error = await rejection(token);
    expect(error.code).toBe("id_token_invalid");
    expect(error.message).toContain("signature");
  });

  test("a token naming a key the IdP does not publish is refused", async () => {
    const other = await generateKeyPair("ES256");
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", kid: "elsewhere" })
      .sign(other.privateKey);
    expect((await rejection(token)).code).toBe("id_token_invalid");
  });

  test("alg none and HMAC (client secret as key) are never accepted", async () => {
    const none = await rejection(unsigned(claims()));
    expect(none.code).toBe("id_token_invalid");
    expect(none.message).toContain("algorithm");
    const hmac = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(idp.clientSecret));
    expect((await rejection(hmac)).message).toContain("algorithm");
  });

  const refusals: [string, () => ClaimOverrides, string][] = [
    ["another issuer", () => ({ iss: `${idp.issuer}/other` }), "iss"],
    ["an issuer differing by a trailing slash", () => ({ iss: `${idp.issuer}/` }), "iss"],
    ["another audience", () => ({ aud: "someone-else" }), "aud"],
    ["an azp naming another client", () => ({ azp: "someone-else" }), "azp"],
    ["several audiences without azp", () => ({ aud: [idp.clientId, "other-client"] }), "azp"],
    ["a different nonce", () => ({ nonce: `${NONCE}x` }), "nonce"],
    ["no nonce", () => ({ nonce: undefined }), "nonce"],
    ["no iat", () => ({ iat: undefined }), "iat"],
    ["no sub", () => ({ sub: undefined }), "sub"],
  ];
  test.each(refusals)("a token with %s is refused", async (_, overrides, claim) => {
    const error = await rejection(await idp.sign(claims(overrides())));
    expect(error.code).toBe("id_token_invalid");
    expect(error.message).toContain(`${claim} claim`);
  });

  test("several audiences with azp naming this client are accepted", async () => {
    const token = await idp.sign(claims({ aud: [idp.clientId, "other-client"], azp: idp.clientId }));
    expect((await validate(new Secret(token), NONCE)).azp).toBe(idp.clientId);
  });

  test("an empty expected nonce never matches", async () => {
    expect((await rejection(await idp.sign(claims({ nonce: "" })), "")).code).toBe("id_token_invalid");
  });

  test("expiry: refused beyond the 60 s leeway, accepted within it", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await idp.sign(claims({ iat: now - 3600, exp: now - 120 }));
    expect((await rejection(expired)).message).toContain("expired");
    const skewed = await idp.sign(claims({ iat: now - 3600, exp: now - 30 }));
    expect((await validate(new Secret(skewed), NONCE)).sub).toBe("user-1");
    expect((await rejection(await idp.sign(claims({ exp: undefined })))).message).toContain("exp");
  });

  test("an Entra-style issuer template is checked against the token's own tid", async () => {
    const check = validatorFor(`${idp.issuer}/{tenantid}/v2.0`);
    const good = claims({ iss: `${idp.issuer}/${TENANT}/v2.0`, tid: TENANT });
    expect((await check(new Secret(await idp.sign(good)), NONCE)).tid).toBe(TENANT);
    const otherTenant = claims({
      iss: `${idp.issuer}/${TENANT}/v2.0`,
      tid: "00000000-0000-0000-0000-000000000000",
    });
    expect((await rejection(await idp.sign(otherTenant), NONCE, check)).message).toContain("iss");
    const noTid = claims({ iss: `${idp.issuer}/${TENANT}/v2.0` });
    expect((await rejection(await idp.sign(noTid), NONCE, check)).message).toContain("tid");
  });

  test("an unreachable JWKS is a network failure, not an invalid token", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const uri = `http://127.0.0.1:${closed.port}/jwks`;
    await closed.stop(true);
    const error = await rejection(await idp.sign(claims()), NONCE, validatorFor(idp.issuer, uri));
    expect(error.code).toBe("idp_network");
  });
});

import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { exportSPKI, importJWK } from "jose";
import { TokenError } from "../../../../src/core/errors.ts";
import type { KeySets, SigningAlg } from "../../../../src/core/keys/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { mintWrapper } from "../../../../src/core/token/mint.ts";
import { openWrapper } from "../../../../src/core/token/open.ts";
import type { MintRequest, WrapperKind } from "../../../../src/core/token/types.ts";
import { verifyWrapper } from "../../../../src/core/token/verify.ts";
import { testKeySets } from "../../../helpers/keys.ts";
import { accessHeader, b64url, flipBit, json, signRaw, validPayload } from "./forge.ts";

const NOW = Date.UTC(2030, 0, 1);
const ISSUER = "https://broker.test";
const THUMB = "q".repeat(43);
const es256 = await testKeySets("ES256");
const eddsa = await testKeySets("EdDSA");

function request(kind: WrapperKind = "access", extra: Partial<MintRequest> = {}): MintRequest {
  const secret = {
    token: new Secret(kind === "access" ? "gho_real" : "ghr_real"),
    type: kind === "access" ? "Bearer" : "refresh",
  };
  return {
    kind,
    provider: "github",
    binding: { kind: "x5t#S256", value: THUMB },
    secret,
    scope: "repo",
    ...extra,
  };
}

async function mint(keys: KeySets, kind: WrapperKind = "access", now = NOW): Promise<string> {
  return (await mintWrapper(request(kind), keys, { issuer: ISSUER, tokenTtl: 3600, now })).token;
}

function verify(token: string, keys: KeySets = es256, kind: WrapperKind = "access", now = NOW) {
  return verifyWrapper(token, kind, keys, { issuer: ISSUER, now });
}

async function rejected(token: string, keys: KeySets = es256, kind: WrapperKind = "access", now = NOW) {
  const error = await verify(token, keys, kind, now).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).code).toBe("invalid_token");
  // Messages stay short and never echo the token.
  expect((error as TokenError).message.length).toBeLessThan(120);
  expect((error as TokenError).message).not.toContain(token.slice(0, 20));
  return (error as TokenError).message;
}

function forged(keys: KeySets, header: Record<string, unknown>, payload: Record<string, unknown>) {
  return signRaw(keys, json(header), json(payload));
}

describe("round trip", () => {
  for (const [alg, keys] of [
    ["ES256", es256],
    ["EdDSA", eddsa],
  ] as [SigningAlg, KeySets][]) {
    test(`${alg}: access wrapper verifies and opens`, async () => {
      const verified = await verify(await mint(keys), keys);
      expect(verified).toMatchObject({
        kind: "access",
        kid: keys.signer!.kid,
        provider: "github",
        binding: { kind: "x5t#S256", value: THUMB },
      });
      expect(verified.scope).toBe("repo");
      expect(verified.exp).toBe(NOW / 1000 + 3600);
      expect(verified.claims.tok).toBeUndefined();
      const opened = await openWrapper(verified, keys);
      expect(opened.token.reveal()).toBe("gho_real");
      expect(opened.type).toBe("Bearer");
    });

    test(`${alg}: refresh wrapper verifies and opens`, async () => {
      const verified = await verify(await mint(keys, "refresh"), keys, "refresh");
      expect(verified.kind).toBe("refresh");
      expect((await openWrapper(verified, keys)).token.reveal()).toBe("ghr_real");
    });
  }

  test("a hand-built token following DESIGN §5 verifies (the format is the interface)", async () => {
    const verified = await verify(await forged(es256, accessHeader(es256), validPayload(NOW)));
    expect(verified.jti).toBe("jti-1");
  });
});

describe("algorithm confusion (RFC 8725 §2.1, §3.1)", () => {
  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    test(`alg ${alg} is refused, with or without a signature part`, async () => {
      const header = b64url(json(accessHeader(es256, { alg })));
      const payload = b64url(json(validPayload(NOW)));
      expect(await rejected(`${header}.${payload}.`)).toContain("not base64url");
      expect(await rejected(`${header}.${payload}.AAAA`)).toContain("alg does not match");
    });
  }

  test("HS256 keyed with our public key (SPKI PEM or JWK text) is refused", async () => {
    const header = b64url(json(accessHeader(es256, { alg: "HS256" })));
    const payload = b64url(json(validPayload(NOW)));
    const pem = await exportSPKI(
      (await importJWK(es256.publicJwks.keys[0]!, "ES256", { extractable: true })) as CryptoKey,
    );
    for (const secret of [pem, json(es256.publicJwks.keys[0])]) {
      const mac = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
      expect(await rejected(`${header}.${payload}.${mac}`)).toContain("alg does not match");
    }
  });

  test("header alg naming another of our algorithms than the key's is refused", async () => {
    expect(
      await rejected(await forged(eddsa, accessHeader(eddsa, { alg: "ES256" }), validPayload(NOW)), eddsa),
    ).toContain("alg does not match");
  });

  test("unknown, missing or non-string kid is refused", async () => {
    expect(
      await rejected(await forged(es256, accessHeader(es256, { kid: "other" }), validPayload(NOW))),
    ).toContain("unknown kid");
    const { kid: _kid, ...noKid } = accessHeader(es256);
    expect(await rejected(await forged(es256, noKid, validPayload(NOW)))).toContain("missing kid");
    expect(await rejected(await forged(es256, accessHeader(es256, { kid: 1 }), validPayload(NOW)))).toContain(
      "missing kid",
    );
  });

  test("a wrapper from another deployment is refused, even reusing our kid", async () => {
    const other = await testKeySets();
    await rejected(await mint(other));
    const reusedKid = await forged(other, accessHeader(es256), validPayload(NOW));
    expect(await rejected(reusedKid)).toContain("signature");
  });
});

describe("time (exp, nbf, iat) with 5 s tolerance", () => {
  test("expired wrapper is refused; 4 s past exp accepted, 5 s and 59 s refused", async () => {
    const token = await mint(es256);
    const exp = NOW + 3600 * 1000;
    await verify(token, es256, "access", exp + 4_000);
    expect(await rejected(token, es256, "access", exp + 5_000)).toBe("wrapper expired");
    expect(await rejected(token, es256, "access", exp + 59_000)).toBe("wrapper expired");
    expect(await rejected(token, es256, "access", exp + 86_400_000)).toBe("wrapper expired");
  });

  test("not yet valid: 5 s before nbf accepted, 6 s refused", async () => {
    const token = await mint(es256);
    await verify(token, es256, "access", NOW - 5_000);
    expect(await rejected(token, es256, "access", NOW - 6_000)).toBe("wrapper not yet valid");
  });

  test("iat far in the future is refused even when nbf is fine", async () => {
    const now = NOW / 1000;
    const payload = validPayload(NOW, { iat: now + 3600 });
    expect(await rejected(await forged(es256, accessHeader(es256), payload))).toContain("iat");
  });
});

describe("lifetime bound", () => {
  test("a wrapper claiming 366 days is accepted, one claiming more is refused", async () => {
    const now = NOW / 1000;
    const longest = validPayload(NOW, { iat: now, auth_time: now, exp: now + 366 * 86400 });
    await verify(await forged(es256, accessHeader(es256), longest), es256, "access");
    const tooLong = validPayload(NOW, { iat: now, auth_time: now, exp: now + 366 * 86400 + 1 });
    expect(await rejected(await forged(es256, accessHeader(es256), tooLong))).toContain("lifetime");
  });

  test("a login (auth_time) older than 366 days at exp is refused; one just within is accepted", async () => {
    const now = NOW / 1000;
    const within = validPayload(NOW, { auth_time: now + 600 - 366 * 86400 });
    await verify(await forged(es256, accessHeader(es256), within), es256, "access");
    const stretched = validPayload(NOW, { auth_time: now + 599 - 366 * 86400 });
    expect(await rejected(await forged(es256, accessHeader(es256), stretched))).toContain("login older");
  });

  test("auth_time after iat is refused; equal to iat is accepted", async () => {
    const now = NOW / 1000;
    await verify(
      await forged(es256, accessHeader(es256), validPayload(NOW, { auth_time: now })),
      es256,
      "access",
    );
    const later = validPayload(NOW, { auth_time: now + 1 });
    expect(await rejected(await forged(es256, accessHeader(es256), later))).toContain("auth_time after iat");
  });
});

describe("explicit typing (RFC 8725 §3.11)", () => {
  test("refresh wrapper where access expected, and the reverse", async () => {
    expect(await rejected(await mint(es256, "refresh"), es256, "access")).toContain("typ");
    expect(await rejected(await mint(es256, "access"), es256, "refresh")).toContain("typ");
  });

  for (const typ of [undefined, "JWT", "at+jwt", "application/surrogate+jwt", "SURROGATE+JWT"]) {
    test(`typ ${typ} is refused`, async () => {
      const header = { alg: "ES256", kid: es256.signer!.kid, ...(typ === undefined ? {} : { typ }) };
      expect(await rejected(await forged(es256, header, validPayload(NOW)))).toContain("typ");
    });
  }
});

describe("issuer and audience", () => {
  test("wrong iss is refused", async () => {
    expect(
      await rejected(await forged(es256, accessHeader(es256), validPayload(NOW, { iss: "https://evil" }))),
    ).toContain("iss");
  });

  test("wrong aud, refresh aud, or an aud array is refused", async () => {
    for (const aud of ["other", "surrogate-broker", ["surrogate"], ["surrogate", "x"]]) {
      await rejected(await forged(es256, accessHeader(es256), validPayload(NOW, { aud })));
    }
  });
});

describe("tampering", () => {
  test("a flipped bit in header, payload or signature is refused", async () => {
    const token = await mint(es256);
    for (const [segment, byte] of [
      [0, 0],
      [0, 20],
      [1, 0],
      [1, 30],
      [2, 0],
      [2, 63],
    ] as const) {
      await rejected(flipBit(token, segment, byte));
    }
  });

  test("a changed claim under the original signature is refused", async () => {
    const [header, payload, signature] = (await mint(es256)).split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const changed = b64url(json({ ...claims, prv: "gitlab" }));
    expect(await rejected(`${header}.${changed}.${signature}`)).toContain("signature");
  });
});

describe("strict JSON (RFC 7515 §5.2)", () => {
  const payload = () => json(validPayload(NOW));
  const kid = () => es256.signer!.kid;

  test("duplicate header member is refused", async () => {
    const header = `{"alg":"ES256","kid":"${kid()}","typ":"surrogate-refresh+jwt","typ":"surrogate+jwt"}`;
    expect(await rejected(await signRaw(es256, header, payload()))).toContain("duplicate");
  });

  test("duplicate payload member is refused (escaped spelling too)", async () => {
    const header = json(accessHeader(es256));
    const dupExp = payload().replace('"jti"', `"exp":${NOW / 1000 + 99999},"jti"`);
    expect(await rejected(await signRaw(es256, header, dupExp))).toContain("duplicate");
    const escaped = payload().replace('"prv":"github"', '"prv":"github","\\u0070rv":"gitlab"');
    expect(await rejected(await signRaw(es256, header, escaped))).toContain("duplicate");
  });

  test("duplicate member inside cnf is refused", async () => {
    const header = json(accessHeader(es256));
    const dup = payload().replace('{"x5t#S256":', `{"x5t#S256":"${"B".repeat(43)}","x5t#S256":`);
    expect(await rejected(await signRaw(es256, header, dup))).toContain("duplicate");
  });

  test("header or payload that is not a JSON object is refused", async () => {
    const header = json(accessHeader(es256));
    expect(await rejected(await signRaw(es256, header, "[1]"))).toContain("not a JSON object");
    expect(await rejected(await signRaw(es256, header, "{bad"))).toContain("bad JSON");
    expect(await rejected(await signRaw(es256, '"x"', payload()))).toContain("not a JSON object");
  });
});

describe("compact form and size", () => {
  test("more or fewer than three parts, empty parts, padding or other characters are refused", async () => {
    const token = await mint(es256);
    const [h, p, s] = token.split(".");
    for (const bad of [
      `${h}.${p}`,
      `${token}.x`,
      `.${p}.${s}`,
      `${h}..${s}`,
      `${h}.${p}=.${s}`,
      `${h}.${p}.${s}+`,
      ` ${token}`,
    ]) {
      await rejected(bad);
    }
  });

  test("over 16 KiB is refused before parsing; a large wrapper under the cap verifies", async () => {
    expect(await rejected("a".repeat(16 * 1024 + 1))).toBe("wrapper too large");
    const big = await mintWrapper(request("access", { claims: { pad: "x".repeat(11_000) } }), es256, {
      issuer: ISSUER,
      tokenTtl: 3600,
      now: NOW,
    });
    expect(big.token.length).toBeGreaterThan(14_000);
    expect((await verify(big.token)).claims.pad).toHaveLength(11_000);
  });
});

describe("header parameters that pick keys or change processing (RFC 8725 §3.10)", () => {
  const publicJwk = () => es256.publicJwks.keys[0];
  const cases: Record<string, unknown>[] = [
    { jku: "https://evil/jwks.json" },
    { jwk: publicJwk() },
    { x5u: "https://evil/cert.pem" },
    { x5c: ["MIIB"] },
    { x5t: "abc" },
    { "x5t#S256": "abc" },
    { crit: ["exp"] },
    { b64: false, crit: ["b64"] },
    { zip: "DEF" },
    { cty: "JWT" },
  ];
  for (const extra of cases) {
    test(`${Object.keys(extra).join("+")} is refused even with a valid signature`, async () => {
      expect(await rejected(await forged(es256, accessHeader(es256, extra), validPayload(NOW)))).toContain(
        "not allowed",
      );
    });
  }
});

describe("claim types", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["exp as string", { exp: String(NOW / 1000 + 60) }, "exp"],
    ["exp beyond 2^53", { exp: 2 ** 53 + 2 ** 12 }, "exp"],
    ["nbf missing", { nbf: undefined }, "nbf"],
    ["jti empty", { jti: "" }, "jti"],
    ["jti missing", { jti: undefined }, "jti"],
    ["auth_time missing", { auth_time: undefined }, "auth_time"],
    ["auth_time as string", { auth_time: "1" }, "auth_time"],
    ["sid missing", { sid: undefined }, "sid"],
    ["sid empty", { sid: "" }, "sid"],
    ["sid number", { sid: 1 }, "sid"],
    ["prv number", { prv: 7 }, "prv"],
    ["prv missing", { prv: undefined }, "prv"],
    ["cnf missing", { cnf: undefined }, "cnf"],
    ["cnf string", { cnf: "A".repeat(43) }, "cnf"],
    ["thumbprint too short", { cnf: { "x5t#S256": "A".repeat(42) } }, "x5t#S256"],
    ["thumbprint not base64url", { cnf: { "x5t#S256": `${"A".repeat(42)}=` } }, "x5t#S256"],
    ["cnf empty (neither member)", { cnf: {} }, "exactly one of x5t#S256, jkt"],
    ["cnf array", { cnf: [{ jkt: "A".repeat(43) }] }, "cnf"],
    [
      "cnf with both x5t#S256 and jkt",
      { cnf: { "x5t#S256": "A".repeat(43), jkt: "B".repeat(43) } },
      "exactly one of x5t#S256, jkt",
    ],
    ["cnf with an unknown member (jwk)", { cnf: { jwk: { kty: "EC" } } }, "exactly one of x5t#S256, jkt"],
    [
      "cnf x5t#S256 next to an unknown member",
      { cnf: { "x5t#S256": "A".repeat(43), kid: "k" } },
      "exactly one of x5t#S256, jkt",
    ],
    ["cnf with x5t (SHA-1)", { cnf: { x5t: "A".repeat(27) } }, "exactly one of x5t#S256, jkt"],
    ["jkt too short", { cnf: { jkt: "A".repeat(42) } }, "cnf.jkt"],
    ["jkt not base64url", { cnf: { jkt: `${"A".repeat(42)}+` } }, "cnf.jkt"],
    ["jkt padded", { cnf: { jkt: `${"A".repeat(43)}=` } }, "cnf.jkt"],
    ["jkt number", { cnf: { jkt: 1 } }, "cnf.jkt"],
    ["tok number", { tok: 1 }, "tok"],
    ["tok missing", { tok: undefined }, "tok"],
    ["scope array", { scope: ["repo"] }, "scope"],
  ];
  for (const [name, extra, fragment] of cases) {
    test(`${name} is refused`, async () => {
      expect(await rejected(await forged(es256, accessHeader(es256), validPayload(NOW, extra)))).toContain(
        fragment,
      );
    });
  }
});

describe("binding (cnf)", () => {
  const JKT = "j".repeat(43);

  test("a jkt-bound access wrapper round-trips with its binding kind", async () => {
    const token = (
      await mintWrapper(request("access", { binding: { kind: "jkt", value: JKT } }), es256, {
        issuer: ISSUER,
        tokenTtl: 3600,
        now: NOW,
      })
    ).token;
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(payload.cnf).toEqual({ jkt: JKT });
    expect((await verify(token)).binding).toEqual({ kind: "jkt", value: JKT });
  });

  test("a forged payload with a single valid jkt member verifies", async () => {
    const token = await forged(es256, accessHeader(es256), validPayload(NOW, { cnf: { jkt: JKT } }));
    expect((await verify(token)).binding).toEqual({ kind: "jkt", value: JKT });
  });

  test("mint refuses a jkt-bound refresh wrapper, an unknown kind and a malformed value", async () => {
    const options = { issuer: ISSUER, tokenTtl: 3600, now: NOW };
    const refused = async (extra: Partial<MintRequest>, kind: WrapperKind = "access") => {
      const error = await mintWrapper(request(kind, extra), es256, options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TokenError);
      expect((error as TokenError).code).toBe("server_error");
      return (error as TokenError).message;
    };
    expect(await refused({ binding: { kind: "jkt", value: JKT } }, "refresh")).toContain(
      "refresh wrappers cannot bind jkt",
    );
    const spiffe = { kind: "spiffe_id", value: "spiffe://td.test/a" } as const;
    expect(await refused({ binding: spiffe }, "access")).toContain("access wrappers cannot bind spiffe_id");
    expect(
      await refused({ binding: { kind: "spiffe_id", value: "spiffe://td.test/../a" } }, "refresh"),
    ).toContain("not a valid SPIFFE ID");
    const unknownKind = { kind: "jwk", value: JKT } as unknown as MintRequest["binding"];
    expect(await refused({ binding: unknownKind })).toContain("unknown binding");
    expect(await refused({ binding: { kind: "jkt", value: "short" } })).toContain("jkt");
  });
});

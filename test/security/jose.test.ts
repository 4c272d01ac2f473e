/**
 * JOSE attacks through the REAL proxy handler (real keys, real upstream): every forged, confused or
 * malformed bearer is refused with its exact status and code, nothing is dialled (no jku/x5u fetch,
 * no upstream request), and the real token never appears in a response or a log line. Every case
 * runs on both paths (harness.ts MODES): in relay mode through the agent port with a wrapper already
 * cached, so the relay is offered each forgery and must leave it to the handler's refusal.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK } from "jose";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { generateKeySets } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { b64url, json, sealRaw } from "../unit/core/token/forge.ts";
import {
  attackerKey,
  derOf,
  type Forge,
  forge,
  hmacWith,
  P256_N,
  publicPem,
  rs,
  signatureOf,
  signInput,
  withSignature,
} from "./forgery.ts";
import {
  call,
  expectNoLeak,
  expectNoUpstreamContact,
  expectRefused,
  ISSUER,
  MODES,
  type Mode,
  PROVIDER,
  pathSince,
  REAL,
  type Rig,
  refused,
  responseText,
  served,
  snapshot,
  startAgent,
  startRig,
  warm,
  wrapperFor,
} from "./harness.ts";

let rig: Rig;
let f: Forge;
let idp: StubIdp;

beforeAll(async () => {
  idp = await startStubIdp();
});

afterAll(async () => {
  await idp.close();
});

/** Starts the rig for `mode` (`rig` and `f` are this file's, read by the case builders below). */
function withRig(mode: Mode): void {
  beforeAll(async () => {
    rig = await startRig(mode);
    if (mode === "relay") await startAgent(rig);
    f = forge(rig);
    await warm(rig, await wrapperFor(rig, rig.pki.alpha));
  });
  afterAll(async () => {
    await rig.agent?.close();
    await rig.stop();
  });
}

type Build = () => Promise<string>;
/** [name, bearer builder, status, code]. The builder returns the whole Authorization value when it starts with "!". */
type Case = [string, Build, number, string];
/**
 * Bearers whose bytes the agent port itself refuses (relay mode sends through it): its bare answer,
 * before any proxy path runs. The handler's refusal of the same bearer is asserted in handler mode.
 */
const PORT_REFUSES: Record<string, number> = {
  // A field over the port's max_header_size (harness LIMITS, 16 KiB): 431, RFC 6585 §5.
  "over 16 KiB": 431,
  // RFC 9112 §5: a bare LF inside a field value is not a field line.
  "a line feed inside the token": 400,
};

const INVALID: [number, string] = [401, "invalid_token"];
const canaryUrl = () => `http://127.0.0.1:${rig.canary.port}/jwks.json`;
const valid = () => wrapperFor(rig, rig.pki.alpha);
const withHeader = async (extra: Record<string, unknown>) => f.signed(f.header(extra), await f.payload());
const withClaims = async (extra: Record<string, unknown>) => f.signed(f.header(), await f.payload(extra));
/** alpha's two binding values: its certificate's x5t#S256 and its key's RFC 7638 thumbprint. */
const alphaX5t = () => thumbprintOf(rig.pki.alpha.der);
const alphaJkt = () => describeCertificate(rig.pki.alpha.der).keyThumbprint;
const withCnf = (cnf: () => Record<string, unknown>) => () => withClaims({ cnf: cnf() });
const unsigned = async (alg: string, signature = "") =>
  `${b64url(json(f.header({ alg })))}.${b64url(json(await f.payload()))}.${signature}`;

async function byAttacker(header: (jwk: Record<string, unknown>) => Record<string, unknown>) {
  const { privateKey, publicKey } = await attackerKey();
  const jwk = { ...(await exportJWK(publicKey)), kid: "attacker" };
  const input = `${b64url(json(header(jwk)))}.${b64url(json(await f.payload()))}`;
  return signInput(privateKey, input);
}

async function hs256(secret: () => Promise<string>) {
  return hmacWith(await secret(), json(f.header({ alg: "HS256" })), json(await f.payload()));
}

async function surgery(change: (sig: { r: bigint; s: bigint }) => Uint8Array) {
  const token = await valid();
  return withSignature(token, change(signatureOf(token)));
}

/** A signed wrapper whose `tok` is a JWE under our key with a raw header (only `zip`/`alg` vary). */
async function innerTok(header: Record<string, unknown>, plaintext = { token: REAL, type: "Bearer" }) {
  const tok = await sealRaw(rig.keys.encrypter.key, json(header), json(plaintext));
  return withClaims({ tok });
}

/** Another deployment's key set, its signing kid forced to ours: only the signature tells them apart. */
async function otherDeployment(sameKid: boolean) {
  const { signing, encryption } = await generateKeySets();
  const first = signing.keys[0];
  if (first === undefined || rig.keys.signer === undefined) throw new Error("no key");
  if (sameKid) first.kid = rig.keys.signer.kid;
  return wrapperFor(rig, rig.pki.alpha, await keySetsFromJwks(signing, encryption));
}

const rawPayload = (payloadText: string) => f.sign(json(f.header()), payloadText);
const rawHeader = async (headerText: string) => f.sign(headerText, json(await f.payload()));
const noneCasings = ["none", "None", "NONE", "nOnE"];

const cases: Case[] = [
  // alg none (RFC 8725 §2.1, §3.1): never honoured, whatever the casing or signature.
  ...noneCasings.map((alg): Case => [`alg ${alg} with an empty signature`, () => unsigned(alg), ...INVALID]),
  [
    "alg none carrying a real signature",
    async () => unsigned("none", (await valid()).split(".")[2]),
    ...INVALID,
  ],
  [
    "empty signature segment with our alg",
    async () => `${(await valid()).split(".").slice(0, 2).join(".")}.`,
    ...INVALID,
  ],
  [
    "signature of one zero byte",
    async () => `${(await valid()).split(".").slice(0, 2).join(".")}.AA`,
    ...INVALID,
  ],
  // Key confusion: HMAC keyed with our public key (RFC 8725 §2.1).
  [
    "HS256 keyed with our public key PEM (LF)",
    () => hs256(() => publicPem(rig.keys, "\n", "\n")),
    ...INVALID,
  ],
  [
    "HS256 keyed with our public key PEM (CRLF)",
    () => hs256(() => publicPem(rig.keys, "\r\n", "\r\n")),
    ...INVALID,
  ],
  [
    "HS256 keyed with our public key PEM (no trailing newline)",
    () => hs256(() => publicPem(rig.keys, "\n", "")),
    ...INVALID,
  ],
  [
    "HS256 keyed with our public JWK JSON",
    () => hs256(async () => json(rig.keys.publicJwks.keys[0])),
    ...INVALID,
  ],
  ["HS256 keyed with our (public) kid", () => hs256(async () => rig.keys.signer?.kid ?? "kid"), ...INVALID],
  // ECDSA signature surgery (CVE-2022-21449 "psychic signatures"; RFC 7518 §3.4 fixed length).
  ["ES256 r = s = 0", () => surgery(() => rs(0n, 0n)), ...INVALID],
  ["ES256 r = n", () => surgery(({ s }) => rs(P256_N, s)), ...INVALID],
  ["ES256 s = n", () => surgery(({ r }) => rs(r, P256_N)), ...INVALID],
  ["ES256 r = 2^256 - 1", () => surgery(({ s }) => rs(2n ** 256n - 1n, s)), ...INVALID],
  ["ES256 DER-encoded valid signature", () => surgery(({ r, s }) => derOf(r, s)), ...INVALID],
  ["ES256 signature of 63 bytes", () => surgery(({ r, s }) => rs(r, s).slice(0, 63)), ...INVALID],
  ["ES256 signature of 65 bytes", () => surgery(({ r, s }) => new Uint8Array([...rs(r, s), 0])), ...INVALID],
  // kid: only ever a lookup key into our own set (RFC 8725 §3.10).
  ["kid path traversal", () => withHeader({ kid: "../../../../etc/passwd" }), ...INVALID],
  ["kid as a URL", () => withHeader({ kid: canaryUrl() }), ...INVALID],
  ["kid SQL injection", () => withHeader({ kid: "x' OR '1'='1" }), ...INVALID],
  ["kid as a number", () => withHeader({ kid: 1 }), ...INVALID],
  ["kid as null", () => withHeader({ kid: null }), ...INVALID],
  ["kid as an object", () => withHeader({ kid: { $ne: "" } }), ...INVALID],
  ["kid of 10 KB", () => withHeader({ kid: "k".repeat(10 * 1024) }), ...INVALID],
  ["kid unknown", () => withHeader({ kid: "unknown-kid" }), ...INVALID],
  [
    "kid of a retired (rotated-out) key, signed by it",
    () => wrapperFor(rig, rig.pki.alpha, rig.retired),
    ...INVALID,
  ],
  ["kid of our encryption key", () => withHeader({ kid: rig.keys.encrypter.kid }), ...INVALID],
  ["kid absent", async () => f.signed({ alg: "ES256", typ: "surrogate+jwt" }, await f.payload()), ...INVALID],
  // Token-chosen keys: refused, and nothing is fetched (the canary counts connections).
  ["jku to an attacker JWKS", () => byAttacker(() => ({ ...f.header(), jku: canaryUrl() })), ...INVALID],
  [
    "x5u to an attacker certificate",
    () => byAttacker(() => ({ ...f.header(), x5u: canaryUrl() })),
    ...INVALID,
  ],
  [
    "embedded jwk of the attacker",
    () => byAttacker((jwk) => ({ alg: "ES256", typ: "surrogate+jwt", jwk })),
    ...INVALID,
  ],
  ["embedded jwk with our kid", () => byAttacker((jwk) => ({ ...f.header(), jwk })), ...INVALID],
  [
    "x5c chain of an attacker",
    () =>
      byAttacker(() => ({
        ...f.header(),
        x5c: [Buffer.from(rig.pki.bad.selfSigned.der).toString("base64")],
      })),
    ...INVALID,
  ],
  // crit / b64 (RFC 7515 §4.1.11, RFC 7797).
  ["crit naming an unknown parameter", () => withHeader({ crit: ["urn:evil"], "urn:evil": 1 }), ...INVALID],
  ["crit empty", () => withHeader({ crit: [] }), ...INVALID],
  ["b64 false with crit b64", () => withHeader({ b64: false, crit: ["b64"] }), ...INVALID],
  // Time claims at and beyond the 5 s tolerance (RFC 7519 §4.1.4-6).
  ["exp exactly 5 s ago (tolerance edge)", () => withClaims({ exp: f.t - 5 }), ...INVALID],
  ["exp 59 s ago (the former 60 s tolerance)", () => withClaims({ exp: f.t - 59 }), ...INVALID],
  ["nbf 6 s ahead", () => withClaims({ nbf: f.t + 6 }), ...INVALID],
  ["iat 6 s ahead", () => withClaims({ iat: f.t + 6 }), ...INVALID],
  ["exp as a numeric string", () => withClaims({ exp: String(f.t + 600) }), ...INVALID],
  [
    "exp 1e309 (Infinity)",
    async () => rawPayload(json(await f.payload()).replace(/"exp":\d+/, '"exp":1e309')),
    ...INVALID,
  ],
  ["exp above 2^53", () => withClaims({ exp: 2 ** 53 + 2 }), ...INVALID],
  ["exp exactly 2^53 (a lifetime beyond 366 days)", () => withClaims({ exp: 2 ** 53 }), ...INVALID],
  ["lifetime 366 days and 1 s", () => withClaims({ exp: f.t + 366 * 86400 + 1 }), ...INVALID],
  ["exp negative", () => withClaims({ exp: -1 }), ...INVALID],
  ["exp missing", async () => f.signed(f.header(), { ...(await f.payload()), exp: undefined }), ...INVALID],
  ["nbf missing", async () => f.signed(f.header(), { ...(await f.payload()), nbf: undefined }), ...INVALID],
  // iss / aud (RFC 7519 §4.1.1, §4.1.3; RFC 8725 §3.8, §3.9).
  ["wrong iss", () => withClaims({ iss: "https://evil.test" }), ...INVALID],
  ["iss with a trailing slash", () => withClaims({ iss: `${ISSUER}/` }), ...INVALID],
  ["aud as a number", () => withClaims({ aud: 1 }), ...INVALID],
  ["aud as an array holding ours", () => withClaims({ aud: ["surrogate"] }), ...INVALID],
  ["aud as an empty array", () => withClaims({ aud: [] }), ...INVALID],
  ["aud empty string", () => withClaims({ aud: "" }), ...INVALID],
  ["aud of the refresh endpoint", () => withClaims({ aud: "surrogate-broker" }), ...INVALID],
  // Other tokens presented to the proxy (RFC 8725 §3.11 explicit typing).
  [
    "an upstream id_token signed by the IdP",
    () => idp.sign({ iss: idp.issuer, aud: idp.clientId, sub: idp.subject, exp: f.t + 600, iat: f.t }),
    ...INVALID,
  ],
  [
    "an upstream JWT access token (at+jwt)",
    () =>
      idp.sign(
        { iss: idp.issuer, aud: PROVIDER, sub: idp.subject, exp: f.t + 600, scope: "repo" },
        { typ: "at+jwt" },
      ),
    ...INVALID,
  ],
  [
    "IdP-signed copy of our header and claims",
    async () =>
      idp.sign(await f.payload(), { alg: "ES256", kid: rig.keys.signer?.kid ?? "", typ: "surrogate+jwt" }),
    ...INVALID,
  ],
  ["a refresh wrapper", () => refreshWrapper(), ...INVALID],
  ["a wrapper from another deployment (same kid)", () => otherDeployment(true), ...INVALID],
  ["a wrapper from another deployment (its own kid)", () => otherDeployment(false), ...INVALID],
  // JWE / key-management headers where a JWS is expected (RFC 8725 §2.2, §3.6).
  [
    "a JWE (5 segments) where a JWS is expected",
    () =>
      sealRaw(
        rig.keys.encrypter.key,
        json({ alg: "dir", enc: "A256GCM", kid: rig.keys.encrypter.kid, typ: "surrogate+jwt" }),
        json({ token: REAL, type: "Bearer" }),
      ),
    ...INVALID,
  ],
  ["zip DEF in the JWS header", () => withHeader({ zip: "DEF" }), ...INVALID],
  [
    "PBES2 alg with a huge p2c",
    () => withHeader({ alg: "PBES2-HS256+A128KW", p2s: "c2FsdHNhbHQ", p2c: 2 ** 31 }),
    ...INVALID,
  ],
  [
    "ECDH-ES alg with an off-curve epk",
    () => withHeader({ alg: "ECDH-ES", enc: "A256GCM", epk: { kty: "EC", crv: "P-256", x: "AA", y: "AA" } }),
    ...INVALID,
  ],
  [
    "signed wrapper whose tok is compressed (zip DEF)",
    () => innerTok({ alg: "dir", enc: "A256GCM", kid: rig.keys.encrypter.kid, zip: "DEF" }),
    ...INVALID,
  ],
  [
    "signed wrapper whose tok claims PBES2",
    () => innerTok({ alg: "PBES2-HS256+A128KW", enc: "A256GCM", kid: rig.keys.encrypter.kid }),
    ...INVALID,
  ],
  [
    "signed access wrapper carrying a refresh token",
    () =>
      innerTok({ alg: "dir", enc: "A256GCM", kid: rig.keys.encrypter.kid }, { token: REAL, type: "refresh" }),
    ...INVALID,
  ],
  // Compact-form abuse (RFC 7515 §3.1, §2 base64url without padding; RFC 8259 §8.1 UTF-8).
  ["over 16 KiB", () => withClaims({ pad: "a".repeat(17 * 1024) }), ...INVALID],
  ["a fourth segment", async () => `${await valid()}.AAAA`, ...INVALID],
  ["two segments", async () => (await valid()).split(".").slice(0, 2).join("."), ...INVALID],
  ["base64 padding on the signature", async () => `${await valid()}==`, ...INVALID],
  [
    "non-canonical base64url in the signature's last character",
    async () => tweakLastChar(await valid()),
    ...INVALID,
  ],
  ["whitespace inside the token", async () => `!Bearer ${(await valid()).replace(".", ". ")}`, ...INVALID],
  ["a line feed inside the token", async () => `!Bearer ${(await valid()).replace(".", ".\n")}`, ...INVALID],
  [
    "header of invalid UTF-8",
    () => rawHeader('{"alg":"ES256","kid":"\xff\xfe","typ":"surrogate+jwt"}'),
    ...INVALID,
  ],
  ["header a JSON array", () => rawHeader("[]"), ...INVALID],
  ["header a JSON string", () => rawHeader('"ES256"'), ...INVALID],
  ["header JSON null", () => rawHeader("null"), ...INVALID],
  ["payload a JSON array", () => rawPayload("[]"), ...INVALID],
  [
    "duplicate alg in the header",
    () => rawHeader(json(f.header()).replace("{", '{"alg":"none",')),
    ...INVALID,
  ],
  [
    "duplicate kid via a \\u escape",
    () => rawHeader(json(f.header()).replace("{", '{"\\u006bid":"x",')),
    ...INVALID,
  ],
  [
    "duplicate exp in the payload",
    async () => rawPayload(json(await f.payload()).replace("{", `{"exp":${f.t + 10 ** 6},`)),
    ...INVALID,
  ],
  [
    "duplicate x5t#S256 inside cnf",
    async () =>
      rawPayload(json(await f.payload()).replace('"cnf":{', `"cnf":{"x5t#S256":"${"B".repeat(43)}",`)),
    ...INVALID,
  ],
  // cnf holds exactly one of x5t#S256, jkt (one binding rule per token, RFC 8725 §2.8 spirit).
  [
    "cnf with both x5t#S256 and jkt, each valid for alpha",
    withCnf(() => ({ "x5t#S256": alphaX5t(), jkt: alphaJkt() })),
    ...INVALID,
  ],
  ["cnf with neither member", withCnf(() => ({})), ...INVALID],
  ["cnf with only an unknown member (jwk)", withCnf(() => ({ jwk: { kty: "EC" } })), ...INVALID],
  ["cnf x5t#S256 plus an unknown member", withCnf(() => ({ "x5t#S256": alphaX5t(), kid: "x" })), ...INVALID],
  ["cnf jkt malformed (42 characters)", withCnf(() => ({ jkt: alphaJkt().slice(1) })), ...INVALID],
  ["cnf jkt not a string", withCnf(() => ({ jkt: [alphaJkt()] })), ...INVALID],
  [
    "duplicate jkt inside cnf",
    async () =>
      rawPayload(
        json(await f.payload({ cnf: { jkt: alphaJkt() } })).replace(
          '"cnf":{',
          `"cnf":{"jkt":"${"B".repeat(43)}",`,
        ),
      ),
    ...INVALID,
  ],
  // Kind confusion: the certificate's x5t#S256 under jkt is compared with the key thumbprint.
  [
    "cnf jkt holding alpha's certificate x5t#S256",
    withCnf(() => ({ jkt: alphaX5t() })),
    401,
    "binding_mismatch",
  ],
  [
    "cnf x5t#S256 holding alpha's key thumbprint",
    withCnf(() => ({ "x5t#S256": alphaJkt() })),
    401,
    "binding_mismatch",
  ],
  ["one bit flipped in the payload", async () => flip(await valid(), 1), ...INVALID],
  ["missing Authorization", async () => "!", 401, "missing_token"],
  ["Basic instead of Bearer", async () => `!Basic ${btoa("user:pass")}`, 401, "missing_token"],
];

async function refreshWrapper(): Promise<string> {
  const minted = await mintWrapper(
    {
      kind: "refresh",
      provider: PROVIDER,
      binding: { kind: "x5t#S256", value: thumbprintOf(rig.pki.alpha.der) },
      secret: { token: new Secret(REAL), type: "refresh" },
    },
    rig.keys,
    { issuer: ISSUER, tokenTtl: 600, now: rig.clock },
  );
  return minted.token;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A 64-byte signature leaves 4 unused bits in its last character: flipping one keeps the bytes. */
function tweakLastChar(token: string): string {
  const index = BASE64URL.indexOf(token.at(-1) ?? "A");
  return token.slice(0, -1) + (BASE64URL[index ^ 1] ?? "A");
}

function flip(token: string, segment: number): string {
  const parts = token.split(".");
  const bytes = Buffer.from(parts[segment] ?? "", "base64url");
  bytes[5] = (bytes[5] ?? 0) ^ 0x20;
  parts[segment] = b64url(bytes);
  return parts.join(".");
}

function authorizationOf(built: string): string | undefined {
  if (!built.startsWith("!")) return `Bearer ${built}`;
  return built === "!" ? undefined : built.slice(1);
}

for (const mode of MODES) describe(`${mode} path`, () => suite(mode));

function suite(mode: Mode): void {
  withRig(mode);
  describe("forged, confused and malformed wrappers are refused by the real proxy handler", () => {
    for (const [name, build, status, code] of cases) {
      test(name, async () => {
        const built = await build();
        const before = snapshot(rig);
        const path = { ...rig.path };
        const response = await call(rig, { authorization: authorizationOf(built) });
        const secret = built.replace(/^!/, "");
        const early = mode === "relay" ? PORT_REFUSES[name] : undefined;
        if (early === undefined) {
          await expectRefused(rig, response, before, status, code, [secret]);
          expect(pathSince(rig, path)).toBe(refused(rig));
          return;
        }
        expect({ status: response.status, path: pathSince(rig, path) }).toEqual({
          status: early,
          path: "none",
        });
        expectNoUpstreamContact(rig, before);
        expectNoLeak(rig, [await responseText(response)], [secret]);
      });
    }
  });
  accepting();
  expiring();
}

/** DESIGN §10: the verification cache never serves a wrapper past its exp, on either path. */
function expiring(): void {
  describe("a cached wrapper ends at its exp, whichever path serves it", () => {
    test("served from the cache until exp; then verified again (tolerance); then 401 invalid_token", async () => {
      const token = await withClaims({ exp: f.t + 10 });
      const send = async (ms: number) => {
        rig.later(ms);
        const before = snapshot(rig);
        const path = { ...rig.path };
        const response = await call(rig, { authorization: `Bearer ${token}` });
        return { before, response, path: pathSince(rig, path) };
      };
      try {
        await warm(rig, token);
        // The clock sits 500 ms into a second: exp is 9.5 s ahead, so 9 s later it is still cached.
        const cached = await send(9_000);
        expect({ status: cached.response.status, path: cached.path }).toEqual({
          status: 200,
          path: served(rig),
        });
        // 1.5 s past exp: the cache no longer answers; the verifier's tolerance (5 s) still accepts.
        const again = await send(12_000);
        expect({ status: again.response.status, path: again.path }).toEqual({
          status: 200,
          path: refused(rig),
        });
        const late = await send(20_000);
        await expectRefused(rig, late.response, late.before, 401, "invalid_token", [token]);
        expect(late.path).toBe(refused(rig));
      } finally {
        rig.later(0);
      }
    });
  });
}

function accepting(): void {
  describe("the same checks accept what they must (boundaries and controls)", () => {
    const accepted: Array<[string, Build, { cached: boolean }?]> = [
      ["a minted wrapper", valid],
      ["a hand-forged wrapper with our key (the forge itself is sound)", () => withClaims({})],
      ["a hand-forged wrapper bound to alpha's key (cnf jkt)", withCnf(() => ({ jkt: alphaJkt() }))],
      // Past exp the cache never serves a wrapper (DESIGN §10): every call is verified again.
      ["exp 4 s ago (inside tolerance)", () => withClaims({ exp: f.t - 4 }), { cached: false }],
      ["nbf 5 s ahead (tolerance edge)", () => withClaims({ nbf: f.t + 5 })],
      ["iat 5 s ahead (tolerance edge)", () => withClaims({ iat: f.t + 5 })],
      [
        "lifetime exactly 366 days (the longest seal or refresh_ttl allows)",
        () => withClaims({ exp: f.t + 366 * 86400 }),
      ],
    ];
    for (const [name, build, options] of accepted) {
      test(name, async () => {
        const token = await build();
        // Verified on the first call, served from the cache (by the relay in relay mode) on the second.
        const second = options?.cached === false ? refused(rig) : served(rig);
        for (const expected of [refused(rig), second]) {
          const before = rig.upstream.requests.length;
          const path = { ...rig.path };
          const response = await call(rig, { authorization: `Bearer ${token}` });
          const text = await responseText(response);
          expect({ status: response.status, path: pathSince(rig, path) }).toEqual({
            status: 200,
            path: expected,
          });
          expect(rig.upstream.requests.length).toBe(before + 1);
          expect(rig.upstream.requests[before]?.headers.get("authorization")).toBe(`Bearer ${REAL}`);
          // The upstream echoes what it got, so the real token is in the body here by design: headers only.
          expect(text.split("\n\n")[0]).not.toContain(REAL);
          expect(rig.logger.lines.join("\n")).not.toContain(REAL);
        }
      });
    }

    test("an ECDSA high-s twin (r, n − s) verifies but stays bound: over beta it is binding_mismatch", async () => {
      const twin = await surgery(({ r, s }) => rs(r, P256_N - s));
      const before = snapshot(rig);
      const response = await call(rig, { authorization: `Bearer ${twin}`, cert: rig.pki.beta });
      await expectRefused(rig, response, before, 401, "binding_mismatch", [twin]);
      expectNoLeak(rig, []);
    });
  });
}

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration } from "../../../src/cli/token-description.ts";
import { fingerprintOf, thumbprintOf } from "../../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import type { MintRequest } from "../../../src/core/token/types.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { testPki } from "../../helpers/pki.ts";
import { cli } from "./io.ts";

const ISSUER = "https://broker.example.com";
const NOW = Date.UTC(2026, 0, 1, 12);
const UPSTREAM = "gho_upstream_token_value";

let keys: KeySets;
let otherKeys: KeySets;
let der: Uint8Array;
let dir: string;
let jwksFile: string;
let otherJwksFile: string;
let jwksServer: ReturnType<typeof Bun.serve>;

async function mint(overrides: Partial<MintRequest> = {}, now = NOW, signWith = keys): Promise<string> {
  const request: MintRequest = {
    kind: "access",
    provider: "github",
    binding: { kind: "x5t#S256", value: thumbprintOf(der) },
    secret: { token: new Secret(UPSTREAM), type: "Bearer" },
    claims: { sub: "octocat", email: "octo@example.com" },
    scope: "repo read:user",
    ...overrides,
  };
  return (await mintWrapper(request, signWith, { issuer: ISSUER, tokenTtl: 3600, now })).token;
}

function inspect(args: string[], input?: string, now = NOW) {
  return cli(["inspect", ...args], { now: () => now, ...(input === undefined ? {} : { input }) });
}

beforeAll(async () => {
  keys = await testKeySets();
  otherKeys = await testKeySets("EdDSA");
  der = (await testPki()).alpha.der;
  dir = await mkdtemp(join(tmpdir(), "surrogate-inspect-"));
  jwksFile = join(dir, "jwks.json");
  otherJwksFile = join(dir, "other.json");
  await writeFile(jwksFile, JSON.stringify(keys.publicJwks));
  await writeFile(otherJwksFile, JSON.stringify(otherKeys.publicJwks));
  jwksServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json(keys.publicJwks) });
});
afterAll(async () => {
  await jwksServer.stop(true);
  await rm(dir, { recursive: true, force: true });
});

describe("surrogate inspect (offline)", () => {
  test("shows header, claims with tok hidden, binding, provider, subject, expiry; says it did not verify", async () => {
    const token = await mint();
    const result = await inspect([], token);
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('"typ": "surrogate+jwt"');
    expect(out).toContain('"tok": "[encrypted]"');
    expect(out).not.toContain(token.split(".")[1]);
    expect(out).toContain("provider:   github");
    expect(out).toContain("subject:    octocat");
    // What `surrogate revoke --login` takes, and when the person logged in.
    expect(out).toMatch(/login: {6}[A-Za-z0-9_-]{22} \(logged in 2026-01-01T12:00:00\.000Z\)/);
    expect(out).toContain(`binding:    cnf x5t#S256 ${thumbprintOf(der)}`);
    expect(out).toContain(`certificate SHA-256 ${fingerprintOf(der)}`);
    expect(out).toContain(
      "expiry:     expires in 1h (2026-01-01T13:00:00.000Z; accepted up to the 5s clock-skew tolerance later)",
    );
    expect(out).toContain("signature: NOT verified");
    expect(out).not.toContain(UPSTREAM);
  });

  test("an expired wrapper says EXPIRED and how long ago", async () => {
    const result = await inspect([], await mint(), NOW + 3_780_000);
    expect(result.stdout).toContain(
      "expiry:     EXPIRED 3m ago (2026-01-01T13:00:00.000Z; past the 5s clock-skew tolerance)",
    );
  });

  test("inside the clock-skew tolerance it says EXPIRED and how much longer the proxy accepts it", async () => {
    const result = await inspect([], await mint(), NOW + 3_602_000);
    expect(result.stdout).toContain(
      "expiry:     EXPIRED 2s ago (2026-01-01T13:00:00.000Z); still accepted for 3s, the 5s clock-skew tolerance",
    );
  });

  test("the header and claims are indented JSON, a newline inside a value still escaped", async () => {
    const result = await inspect([], await mint({ claims: { sub: "two\nlines\u007f" } }));
    expect(result.stdout).toContain('header:\n{\n  "alg": "ES256",\n');
    expect(result.stdout).toContain('  "sub": "two\\nlines\\u007f",\n');
    expect(result.stdout.split("\n\ntype:")[0]).not.toContain("\\u000a");
    expect(result.stdout).toContain("subject:    two\\u000alines\\u007f\n");
  });

  test("reads a file, and the JSON of login --json (its access_token)", async () => {
    const token = await mint();
    const file = join(dir, "login.json");
    await writeFile(
      file,
      JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 3600, scope: "" }),
    );
    const result = await inspect([file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("provider:   github");
  });

  test("a jkt-bound wrapper shows the public key binding", async () => {
    const jkt = "k".repeat(43);
    const result = await inspect([], await mint({ binding: { kind: "jkt", value: jkt } }));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`binding:    cnf jkt ${jkt}`);
    expect(result.stdout).toContain("public key (RFC 7638 JWK SHA-256 thumbprint)");
    expect(result.stdout).not.toContain("certificate SHA-256");
  });

  test("which bound set exp: the certificate's notAfter, the upstream expiry, token_ttl", async () => {
    const bound = (extra: Partial<MintRequest>) => mint(extra).then((token) => inspect([], token));
    const byCertificate = await bound({ certificateNotAfter: NOW / 1000 + 60 });
    expect(byCertificate.stdout).toContain("exp set by: the bound certificate's notAfter");
    expect((await bound({ expiresAt: NOW / 1000 + 120 })).stdout).toContain(
      "exp set by: the upstream token's own expiry",
    );
    expect((await bound({})).stdout).toContain("exp set by: token_ttl (the broker's cap)");
  });

  test("a SPIFFE-ID-bound refresh wrapper shows the SPIFFE ID it follows", async () => {
    const token = await mint({
      kind: "refresh",
      binding: { kind: "spiffe_id", value: "spiffe://td.test/agents/a" },
      secret: { token: new Secret("refresh-secret"), type: "refresh" },
    });
    const result = await inspect([], token);
    expect(result.stdout).toContain("binding:    cnf spiffe_id spiffe://td.test/agents/a");
    expect(result.stdout).not.toContain("exp set by");
  });

  test.each([
    ["both members", { "x5t#S256": "A".repeat(43), jkt: "B".repeat(43) }],
    ["neither member", {}],
    ["an unknown member", { jwk: "A".repeat(43) }],
    ["a malformed jkt", { jkt: "short" }],
  ])("cnf with %s is shown as no valid binding", async (_name, cnf) => {
    const header = Buffer.from('{"alg":"ES256","kid":"k","typ":"surrogate+jwt"}').toString("base64url");
    const payload = Buffer.from(JSON.stringify({ prv: "p", cnf, tok: "x" })).toString("base64url");
    const result = await inspect([], `${header}.${payload}.c2ln`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "binding:    none (cnf must hold exactly one valid x5t#S256, jkt or spiffe_id)",
    );
  });

  test("a missing file: one line naming the path once, why, and input_invalid (not config_invalid)", async () => {
    const missing = join(dir, "no-such-token");
    const result = await inspect([missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `surrogate inspect: cannot read token file ${missing}: no such file or directory (ENOENT) (input_invalid)\n`,
    );
  });

  test("escapes control and bidi characters from the token", async () => {
    const result = await inspect([], await mint({ claims: { sub: "evil\u001b[2J\u009b\u202egnp.exe" } }));
    for (const raw of ["\u001b", "\u009b", "\u202e"]) expect(result.stdout).not.toContain(raw);
    expect(result.stdout).toContain("subject:    evil\\u001b[2J\\u009b\\u202egnp.exe");
  });

  test.each([
    ["not a token", "hello"],
    ["a JWT with an unknown typ", `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.e30.x`],
  ])("refuses %s", async (_name, input) => {
    const result = await inspect(["--jwks", jwksFile], input);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
  });
});

describe("surrogate inspect --jwks", () => {
  test("valid against the broker's JWK Set file", async () => {
    const result = await inspect(["--jwks", jwksFile], await mint());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`signature: valid (access wrapper, kid ${keys.signer?.kid})`);
    expect(result.stdout).not.toContain("NOT verified");
  });

  test("valid against a JWKS URL, with --issuer checked", async () => {
    const url = `http://127.0.0.1:${jwksServer.port}/.well-known/jwks.json`;
    const result = await inspect(["--jwks", url, "--issuer", ISSUER], await mint());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`, iss ${ISSUER}`);
  });

  test("a refresh wrapper is verified by the refresh rules (its typ)", async () => {
    const token = await mint({ kind: "refresh", secret: { token: new Secret("rt"), type: "refresh" } });
    const result = await inspect(["--jwks", jwksFile], token);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("signature: valid (refresh wrapper");
  });

  test("a wrapper from other keys is refused", async () => {
    const result = await inspect(["--jwks", jwksFile], await mint({}, NOW, otherKeys));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("surrogate inspect: wrapper: unknown kid (invalid_token)\n");
  });

  test("the right kid with another deployment's key material is refused", async () => {
    const forged = JSON.stringify({ keys: [{ ...otherKeys.publicJwks.keys[0], kid: keys.signer?.kid }] });
    const file = join(dir, "forged.json");
    await writeFile(file, forged);
    const result = await inspect(["--jwks", file], await mint());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("(invalid_token)");
  });

  test("a tampered claim is refused", async () => {
    const [header, payload, signature] = (await mint()).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const tampered = Buffer.from(JSON.stringify({ ...claims, prv: "openai" })).toString("base64url");
    const result = await inspect(["--jwks", jwksFile], `${header}.${tampered}.${signature}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("surrogate inspect: wrapper: signature verification failed (invalid_token)\n");
  });

  test("an expired wrapper is refused with the reason", async () => {
    const result = await inspect(["--jwks", jwksFile], await mint(), NOW + 7_200_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("surrogate inspect: wrapper expired (invalid_token)\n");
  });

  test("another expected issuer is refused", async () => {
    const result = await inspect(["--jwks", jwksFile, "--issuer", "https://other.example"], await mint());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("claim iss rejected");
  });

  test("--jwks over plain http to a non-loopback host is refused", async () => {
    const result = await inspect(["--jwks", "http://broker.example.com/jwks.json"], await mint());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--jwks: URL must be https://");
  });

  test("--issuer without --jwks is a usage error", async () => {
    expect((await inspect(["--issuer", ISSUER], await mint())).code).toBe(2);
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "0s"],
    [45, "45s"],
    [2520, "42m"],
    [2525, "42m 5s"],
    [3600, "1h"],
    [90_000, "1d 1h"],
    [86_400 + 59, "1d"],
  ])("%d s → %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

/**
 * `jwks:` signing sources: a real HTTP server publishes the broker's JWKS; the proxy side builds
 * verify-only key sets from it, refetches on unknown kids at most once per gap, and keeps its last
 * good set when the broker is unreachable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { JSONWebKeySet } from "jose";
import type { AgentRequest } from "../../../src/agent-port/http1/types.ts";
import { kidHint, withKidRefresh } from "../../../src/app/kid-refresh.ts";
import { createKeySetsProvider } from "../../../src/app/remote-keys.ts";
import { KeysError } from "../../../src/core/errors.ts";
import {
  generateEncryptionJwk,
  generateKeySets,
  generateSigningJwk,
} from "../../../src/core/keys/generate.ts";
import { keySetsFromJwks, loadKeySets } from "../../../src/core/keys/load.ts";
import { jwksUrlOf } from "../../../src/core/keys/remote-jwks.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import { verifyWrapper } from "../../../src/core/token/verify.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";

const ISSUER = "https://broker.test";

/** A broker's JWKS endpoint whose answer the test sets, counting requests. */
let published: { status: number; body: string } = { status: 200, body: "{}" };
let hits = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch() {
    hits += 1;
    return new Response(published.body, {
      status: published.status,
      headers: { "content-type": "application/jwk-set+json" },
    });
  },
});
const source = `jwks:http://127.0.0.1:${server.port}/.well-known/jwks.json`;

let broker: KeySets;
let privateSets: { signing: JSONWebKeySet; encryption: JSONWebKeySet };
const env = () => ({ ENC: JSON.stringify(privateSets.encryption) });

beforeAll(async () => {
  privateSets = await generateKeySets();
  broker = await keySetsFromJwks(privateSets.signing, privateSets.encryption);
  publish(broker);
});
afterAll(() => server.stop(true));

function publish(keys: KeySets) {
  published = { status: 200, body: JSON.stringify(keys.publicJwks) };
}

async function wrapper(keys: KeySets): Promise<string> {
  const request = {
    kind: "access" as const,
    provider: "p",
    binding: { kind: "x5t#S256" as const, value: "t".repeat(43) },
  };
  const secret = { token: new Secret("real"), type: "Bearer" };
  return (await mintWrapper({ ...request, secret }, keys, { issuer: ISSUER, tokenTtl: 60, now: Date.now() }))
    .token;
}

describe("jwks: source", () => {
  test("verify-only key sets: no signer, the broker's wrappers verify", async () => {
    const keys = await loadKeySets({ signing: source, encryption: "env:ENC" }, env());
    expect(keys.signer).toBeUndefined();
    expect(keys.encrypter.kid).toBe(broker.encrypter.kid);
    const verified = await verifyWrapper(await wrapper(broker), "access", keys, {
      issuer: ISSUER,
      now: Date.now(),
    });
    expect(verified.kid).toBe(broker.signer?.kid ?? "");
  });

  test("a private member in the published document is never imported or republished", async () => {
    published = { status: 200, body: JSON.stringify(privateSets.signing) };
    const keys = await loadKeySets({ signing: source, encryption: "env:ENC" }, env());
    expect(JSON.stringify(keys.publicJwks)).not.toContain('"d"');
    publish(broker);
  });

  test.each([
    ["jwks:http://broker.example/jwks.json", "must be https"],
    ["jwks:https://user:pw@broker.example/jwks.json", "user info"],
    ["jwks:not a url", "needs a URL"],
  ])("%s is refused", (bad, message) => {
    expect(() => jwksUrlOf(bad, "keys.signing")).toThrow(message);
  });

  test.each([
    [{ status: 404, body: "{}" }, "HTTP 404"],
    [{ status: 302, body: "" }, "HTTP 302"],
    [{ status: 200, body: "not json" }, "not a non-empty JWK Set"],
    [{ status: 200, body: '{"keys":[]}' }, "not a non-empty JWK Set"],
    [{ status: 200, body: "x".repeat(300 * 1024) }, "too large"],
    [{ status: 200, body: '{"keys":[{"kty":"oct","k":"AA","kid":"a"}]}' }, "EC P-256 or OKP Ed25519"],
  ])("broken answer %# → KeysError", async (answer, message) => {
    published = answer;
    const load = loadKeySets({ signing: source, encryption: "env:ENC" }, env());
    await expect(load).rejects.toBeInstanceOf(KeysError);
    await expect(load).rejects.toThrow(message);
    publish(broker);
  });

  test("a duplicated kid refuses the whole set", async () => {
    const jwk = broker.publicJwks.keys[0];
    published = { status: 200, body: JSON.stringify({ keys: [jwk, jwk] }) };
    await expect(loadKeySets({ signing: source, encryption: "env:ENC" }, env())).rejects.toThrow(
      "duplicate kid",
    );
    publish(broker);
  });

  test("an unreachable broker is a KeysError naming the setting", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = closed.port;
    await closed.stop(true);
    const load = loadKeySets({ signing: `jwks:http://127.0.0.1:${port}/`, encryption: "env:ENC" }, env());
    await expect(load).rejects.toThrow("keys.signing");
  });
});

describe("refresh on unknown kid", () => {
  async function rotated(): Promise<KeySets> {
    const next = { keys: [await generateSigningJwk(), ...privateSets.signing.keys] };
    return keySetsFromJwks(next, { keys: [generateEncryptionJwk(), ...privateSets.encryption.keys] });
  }

  test("refetches once the gap has passed, shares concurrent refetches, keeps the last good set", async () => {
    publish(broker);
    let now = 1_000_000;
    const logger = createMemoryLogger();
    const provider = await createKeySetsProvider(
      { signing: source, encryption: "env:ENC" },
      { env: env(), fetch, now: () => now, logger, minRefreshGapMs: 30_000, refreshEveryMs: 0 },
    );
    const next = await rotated();
    const newKid = next.signer?.kid ?? "";
    publish(next);
    const before = hits;
    await provider.refreshForKid(newKid);
    expect(hits).toBe(before); // within the gap after the start-up fetch
    expect(provider.current().verifiers.has(newKid)).toBe(false);

    now += 30_000;
    await Promise.all([provider.refreshForKid(newKid), provider.refreshForKid(newKid)]);
    expect(hits).toBe(before + 1);
    expect(provider.current().verifiers.has(newKid)).toBe(true);
    await provider.refreshForKid(newKid); // known now: no fetch
    expect(hits).toBe(before + 1);

    // A refetch that finds the same set keeps the same object (the proxy's cache survives).
    const current = provider.current();
    now += 30_000;
    await provider.refreshForKid("made-up");
    expect(hits).toBe(before + 2);
    expect(provider.current()).toBe(current);

    published = { status: 500, body: "" };
    now += 60_000;
    await provider.refreshForKid("made-up");
    expect(provider.current().verifiers.has(newKid)).toBe(true);
    expect(logger.lines.join("\n")).toContain("keys.refresh_failed");
    provider.close();
    publish(broker);
  });

  test("the proxy entrance waits for the refetch, so a wrapper under the new key verifies", async () => {
    publish(broker);
    let now = 0;
    const provider = await createKeySetsProvider(
      { signing: source, encryption: "env:ENC" },
      { env: env(), fetch, now: () => now, logger: createMemoryLogger(), refreshEveryMs: 0 },
    );
    const next = await rotated();
    publish(next);
    now += 31_000;
    const token = await wrapper(next);
    const handler = withKidRefresh(async () => {
      await verifyWrapper(token, "access", provider.current(), { issuer: ISSUER, now: Date.now() });
      return new Response("verified");
    }, provider);
    const headers = new Headers({ authorization: `Bearer ${token}` });
    const response = await handler({ headers } as unknown as AgentRequest);
    expect(await response.text()).toBe("verified");
    provider.close();
  });

  test("kidHint reads only a well-formed bearer JWS header", async () => {
    const token = await wrapper(broker);
    expect(kidHint(`Bearer ${token}`)).toBe(broker.signer?.kid ?? "");
    expect(kidHint(null)).toBeUndefined();
    expect(kidHint("Basic abc")).toBeUndefined();
    expect(kidHint(`Bearer ${"A".repeat(600)}.x.y`)).toBeUndefined();
    expect(kidHint("Bearer bm90IGpzb24.x.y")).toBeUndefined();
  });

  test("local sources are not remote: no hint wrapper, no refetch", async () => {
    const provider = await createKeySetsProvider(
      { signing: "env:SIG", encryption: "env:ENC" },
      {
        env: { ...env(), SIG: JSON.stringify(privateSets.signing) },
        fetch,
        now: Date.now,
        logger: createMemoryLogger(),
      },
    );
    const handler = async () => new Response("x");
    expect(withKidRefresh(handler, provider)).toBe(handler);
    expect(provider.current().signer).toBeDefined();
    provider.close();
  });
});

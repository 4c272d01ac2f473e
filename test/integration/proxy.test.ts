import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicKey } from "node:crypto";
import { connect } from "node:tls";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { type IssuedCertificate, issueCertificate } from "../../src/core/pki/issue.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { ALPHA_ID, type TestPki, testPki } from "../helpers/pki.ts";
import { bearerProvider } from "../helpers/providers.ts";
import { countPaths, type Path, type PathCounts, pathBetween } from "../helpers/proxy-paths.ts";
import { type Canary, countBytes, startCanary, startUpstream, type Upstream } from "../helpers/upstream.ts";

const ISSUER = "https://broker.test";
const REAL = "real-upstream-token-5f1d9c";
const DOWNLOAD = 50 * 1024 * 1024;

let pki: TestPki;
let keys: KeySets;
let upstream: Upstream;
let redirector: Upstream;
let bulk: Upstream;
let canary: Canary;
let agent: AgentServer;
const logger = createMemoryLogger();
let corp: ReturnType<typeof bearerProvider>;

beforeAll(async () => {
  [pki, keys, canary] = await Promise.all([testPki(), testKeySets(), startCanary()]);
  const tls = { certPem: pki.server.certPem, keyPem: pki.server.keyPem };
  upstream = await startUpstream({ tls });
  redirector = await startUpstream({
    tls,
    handler: () =>
      new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${canary.port}/` } }),
  });
  bulk = await startUpstream({ tls, handler: () => new Response(zeros(DOWNLOAD)) });
  const upstreams = [upstream, redirector, bulk].map((u) => `127.0.0.1:${u.port}`);
  corp = bearerProvider("corp", [...upstreams, `http://127.0.0.1:${canary.port}`]);
});

afterAll(async () => {
  await Promise.all([upstream.stop(), redirector.stop(), bulk.stop(), canary.stop()]);
});

/**
 * Every case runs on both proxy paths: `handler` (relay off: handler and fetch) and `relay` (the
 * default: a request whose wrapper is cached is served as bytes). `warmed` is alpha's wrapper, cached
 * before the cases run, and `counts` prove which path answered, so the relay run cannot fall back.
 */
type Mode = "handler" | "relay";
let mode: Mode;
let counts: PathCounts;
let warmed: string;
const served = (): Path => mode;
const refused = (): Path => (mode === "relay" ? "declined" : "handler");

for (const each of ["handler", "relay"] as const) describe(`${each} path`, () => suite(each));

/** Runs `send` and returns its result with the path that served it. */
async function pathOf<T>(send: () => Promise<T>): Promise<[T, Path]> {
  const before = { ...counts };
  const result = await send();
  return [result, pathBetween(before, counts)];
}

function zeros(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      sent += 65536;
      controller.enqueue(new Uint8Array(65536));
    },
  });
}

/** Bound to the certificate (x5t#S256), or with `byKey` to its key pair (jkt, computed here by jose). */
async function wrapperFor(cert: IssuedCertificate, byKey = false): Promise<string> {
  const jwk = createPublicKey(cert.keyPem).export({ format: "jwk" }) as JWK;
  const binding = byKey
    ? ({ kind: "jkt", value: await calculateJwkThumbprint(jwk) } as const)
    : ({ kind: "x5t#S256", value: thumbprintOf(cert.der) } as const);
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: "corp",
      binding,
      secret: { token: new Secret(REAL), type: "Bearer" },
    },
    keys,
    { issuer: ISSUER, tokenTtl: 600, now: Date.now() },
  );
  return minted.token;
}

/** fetch over mTLS as `cert`; the URL parser normalises, so adversarial targets go through rawRequest. */
function viaProxy(path: string, cert: IssuedCertificate, init: RequestInit = {}): Promise<Response> {
  return fetch(`https://localhost:${agent.port}${path}`, {
    ...init,
    tls: { cert: cert.certPem, key: cert.keyPem, ca: pki.ca.certPem },
  } as RequestInit);
}

/** Sends bytes exactly as written over mTLS and returns the status code and the raw response. */
function rawRequest(text: string, cert: IssuedCertificate): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port: agent.port,
      servername: "localhost",
      cert: cert.certPem,
      key: cert.keyPem,
      ca: pki.ca.certPem,
    });
    let raw = "";
    socket.on("secureConnect", () => socket.write(text));
    socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), raw }));
  });
}

function suite(current: Mode): void {
  beforeAll(async () => {
    mode = current;
    counts = { handled: 0, offered: 0, took: 0 };
    const handler = createProxyHandler({
      providers: new Map([["corp", corp]]),
      policy: new PolicyGate([{ workload: "**", providers: ["corp"] }]),
      revocations: new RevocationList(),
      keys: () => keys,
      issuer: ISSUER,
      fetch,
      now: Date.now,
      logger,
      upstreamTimeout: 10,
      upstreamCa: pki.ca.certPem,
      relay: mode === "relay",
    });
    agent = await startTestAgent(pki, countPaths(handler, counts), {
      limits: { headersTimeout: 10, idleTimeout: 60, requestTimeout: 300, maxHeaderSize: 16384 },
      logger,
    });
    warmed = await wrapperFor(pki.alpha);
    for (const expected of [refused(), served()]) {
      const [response, took] = await pathOf(() =>
        viaProxy(`/127.0.0.1:${upstream.port}/warm`, pki.alpha, {
          headers: { authorization: `Bearer ${warmed}` },
        }),
      );
      expect({ status: response.status, path: took }).toEqual({ status: 200, path: expected });
      await response.arrayBuffer();
    }
  });

  afterAll(async () => {
    await agent.close();
  });

  describe("proxy over the real agent port (mTLS)", () => {
    test("swaps the wrapper for the real token; keep-alive requests each swap", async () => {
      const token = await wrapperFor(pki.alpha);
      const before = upstream.requests.length;
      for (let i = 0; i < 3; i++) {
        const [response, took] = await pathOf(() =>
          viaProxy(`/127.0.0.1:${upstream.port}/user?n=${i}`, pki.alpha, {
            headers: { authorization: `Bearer ${token}` },
          }),
        );
        // Verified on the first request; the next two are cache hits (the relay's, in relay mode).
        expect({ status: response.status, path: took }).toEqual({
          status: 200,
          path: i === 0 ? refused() : served(),
        });
        expect(upstream.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${REAL}`);
        // The echo of it is masked on the way back (response scrubbing, default on).
        const echoed = ((await response.json()) as { authorization: string }).authorization;
        expect(echoed).toBe(`Bearer [redacted]${"*".repeat(REAL.length - 10)}`);
        for (const [, value] of response.headers) expect(value).not.toContain(REAL);
      }
      const seen = upstream.requests.slice(before);
      expect(seen.map((r) => r.path)).toEqual(["/user?n=0", "/user?n=1", "/user?n=2"]);
      for (const request of seen) {
        for (const [, value] of request.headers) expect(value).not.toContain(token);
      }
      expect(logger.lines.join("\n")).not.toContain(REAL);
      expect(logger.lines.join("\n")).not.toContain(token);
    });

    test("a wrapper presented over another certificate → 401 binding_mismatch, nothing reaches an upstream", async () => {
      // alpha's cached wrapper: the cache is keyed by the certificate too, so beta's request misses.
      const [response, took] = await pathOf(() =>
        viaProxy(`/127.0.0.1:${canary.port}/`, pki.beta, { headers: { authorization: `Bearer ${warmed}` } }),
      );
      expect({ status: response.status, path: took }).toEqual({ status: 401, path: refused() });
      expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(((await response.json()) as { code: string }).code).toBe("binding_mismatch");
      expect(canary.connections()).toBe(0);
    });

    test("a key-bound (jkt) wrapper works with its certificate AND a renewed one for the same key pair", async () => {
      const renewed = await issueCertificate(pki.ca, {
        usage: "client",
        commonName: "alpha",
        uris: [ALPHA_ID],
        keyPem: pki.alpha.keyPem,
      });
      expect(thumbprintOf(renewed.der)).not.toBe(thumbprintOf(pki.alpha.der));
      const token = await wrapperFor(pki.alpha, true);
      for (const cert of [pki.alpha, renewed, pki.alpha, renewed]) {
        const before = upstream.requests.length;
        const response = await viaProxy(`/127.0.0.1:${upstream.port}/user`, cert, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        expect(upstream.requests[before]?.headers.get("authorization")).toBe(`Bearer ${REAL}`);
      }
      // Control: a certificate-bound wrapper does not survive the renewal.
      const certBound = await viaProxy(`/127.0.0.1:${canary.port}/`, renewed, {
        headers: { authorization: `Bearer ${await wrapperFor(pki.alpha)}` },
      });
      expect(certBound.status).toBe(401);
      expect(((await certBound.json()) as { code: string }).code).toBe("binding_mismatch");
      expect(canary.connections()).toBe(0);
    });

    test("a key-bound (jkt) wrapper over a certificate for another key → 401 binding_mismatch, no upstream", async () => {
      const token = await wrapperFor(pki.alpha, true);
      // beta is refused before and after alpha's success was cached.
      for (const cert of [pki.beta, pki.alpha, pki.beta]) {
        const target = cert === pki.alpha ? upstream.port : canary.port;
        const response = await viaProxy(`/127.0.0.1:${target}/`, cert, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (cert === pki.alpha) {
          expect(response.status).toBe(200);
          await response.arrayBuffer();
          continue;
        }
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
        const body = (await response.json()) as { code: string; detail: string };
        expect(body.code).toBe("binding_mismatch");
        expect(body.detail).toContain("different public key");
      }
      expect(canary.connections()).toBe(0);
    });

    test("a redirect is passed back unfollowed", async () => {
      const [response, took] = await pathOf(() =>
        viaProxy(`/127.0.0.1:${redirector.port}/login`, pki.alpha, {
          headers: { authorization: `Bearer ${warmed}` },
          redirect: "manual",
        }),
      );
      expect({ status: response.status, path: took }).toEqual({ status: 302, path: served() });
      expect(response.headers.get("location")).toBe(`http://127.0.0.1:${canary.port}/`);
      expect(canary.connections()).toBe(0);
    });

    test("a 50 MB download streams through the agent port", async () => {
      const [response, took] = await pathOf(() =>
        viaProxy(`/127.0.0.1:${bulk.port}/blob`, pki.alpha, {
          headers: { authorization: `Bearer ${warmed}` },
        }),
      );
      expect({ status: response.status, path: took }).toEqual({ status: 200, path: served() });
      expect(await countBytes(response.body)).toBe(DOWNLOAD);
    }, 60_000);

    test("an upload is streamed to the upstream with its length", async () => {
      const body = new Uint8Array(3 * 1024 * 1024).fill(1);
      const before = upstream.requests.length;
      const [response, took] = await pathOf(() =>
        viaProxy(`/127.0.0.1:${upstream.port}/put`, pki.alpha, {
          method: "PUT",
          body,
          headers: { authorization: `Bearer ${warmed}` },
        }),
      );
      expect({ status: response.status, path: took }).toEqual({ status: 200, path: served() });
      expect(upstream.requests[before]?.bodySize).toBe(body.byteLength);
    });

    describe("raw request targets and framing are refused before any upstream contact", () => {
      const cases: Array<[string, (token: string) => string, number, string | undefined]> = [
        ["dot-segment", () => `/127.0.0.1:${canary.port}/../evil.test/`, 400, "bad_target"],
        ["encoded dot-segment", () => `/127.0.0.1:${canary.port}/%2e%2e/x`, 400, "bad_target"],
        ["userinfo", () => `/127.0.0.1:${canary.port}@evil.test/`, 400, "bad_target"],
        ["encoded slash in host", () => `/127.0.0.1:${canary.port}%2f/`, 400, "bad_target"],
        ["absolute-form", () => `http://127.0.0.1:${canary.port}/`, 400, "bad_target"],
        ["backslash", () => `/127.0.0.1:${canary.port}\\@evil.test/`, 400, "bad_target"],
        ["metadata endpoint", () => "/169.254.169.254/latest/meta-data/", 403, "host_not_allowed"],
      ];

      const titled = cases.map(
        ([name, target, status, code]) => [`${name} → ${status} ${code}`, target, status, code] as const,
      );
      test.each(titled)("%s", async (_title, target, status, code) => {
        const token = warmed;
        const [{ status: got, raw }, took] = await pathOf(() =>
          rawRequest(
            `GET ${target(token)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
            pki.alpha,
          ),
        );
        expect({ status: got, path: took }).toEqual({ status, path: refused() });
        if (code !== undefined) expect(raw).toContain(`"code":"${code}"`);
        expect(canary.connections()).toBe(0);
      });

      test("Content-Length together with Transfer-Encoding → 400", async () => {
        const token = warmed;
        const { status } = await rawRequest(
          `POST /127.0.0.1:${canary.port}/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
          pki.alpha,
        );
        expect(status).toBe(400);
        expect(canary.connections()).toBe(0);
      });

      test("two Authorization headers → 400 invalid_request", async () => {
        const token = warmed;
        const [{ status, raw }, took] = await pathOf(() =>
          rawRequest(
            `GET /127.0.0.1:${canary.port}/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
              `Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
            pki.alpha,
          ),
        );
        expect({ status, path: took }).toEqual({ status: 400, path: refused() });
        expect(raw).toContain('"code":"invalid_request"');
        expect(canary.connections()).toBe(0);
      });
    });
  });
}

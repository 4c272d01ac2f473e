/**
 * Resource exhaustion against the deployed composition (`startSurrogate` from a configuration file):
 * slow clients, oversized headers and bodies, floods of grant creations and polls, and a scan of
 * every output for canary secrets. Deadlines are asserted by their effect (the connection is closed
 * by the server, the test's own timeout being the only bound), never by measuring time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { loadKeySets } from "../../src/core/keys/load.ts";
import { type IssuedCertificate, issueCertificate } from "../../src/core/pki/issue.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { agentForm, writeConfigDir } from "../helpers/process.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const CREATE_RATE = 4;
const PENDING_PER_WORKLOAD = 3;
const PENDING_TOTAL = 8;

let dir: string;
let pki: TestPki;
/** Workloads besides the test PKI's alpha and beta, from the same CA. */
let more: { gamma: IssuedCertificate; delta: IssuedCertificate };
let idp: StubIdp;
let upstream: Upstream;
let running: RunningSurrogate;
let issuer: string;
const logger = createMemoryLogger();
/** Everything any client was shown, for the canary scan. */
const outputs: string[] = [];

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "resources");
  const workload = (name: string) =>
    issueCertificate(pki.ca, {
      usage: "client",
      commonName: name,
      uris: [`spiffe://test.example/agents/${name}`],
    });
  more = { gamma: await workload("gamma"), delta: await workload("delta") };
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
  idp = await startStubIdp();
  const webPort = await freePort();
  issuer = `http://127.0.0.1:${webPort}`;
  const toml = `issuer = "${issuer}"
[web]
listen = "127.0.0.1:${webPort}"
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
upstream_ca = "ca.pem"
handshake_timeout = "2s"
headers_timeout = "1s"
request_timeout = "2s"
idle_timeout = "1s"
# The floods below open 40 connections at once from 127.0.0.1, past the default handshake budget
# per address (32); that budget has its own suite (handshake.test.ts).
max_handshakes_per_address = 64
[rendezvous]
interval = "1s"
max_pending_per_workload = ${PENDING_PER_WORKLOAD}
max_pending_total = ${PENDING_TOTAL}
create_rate = ${CREATE_RATE}
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
[providers.stub]
kind = "oidc"
issuer = "${idp.issuer}"
client_id = "${idp.clientId}"
client_secret = "env:STUB_SECRET"
scopes = ["openid", "email", "offline_access"]
upstreams = ["127.0.0.1:${upstream.port}"]
[[policy]]
workload = "spiffe://test.example/**"
providers = ["stub"]
`;
  const env = { STUB_SECRET: idp.clientSecret };
  running = await startSurrogate(await parseConfig(toml, env, { baseDir: dir }), { env, logger });
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([idp?.close(), upstream?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

type Who = "alpha" | "beta" | "gamma" | "delta";

function identityOf(who: Who): IssuedCertificate {
  return who === "alpha" || who === "beta" ? pki[who] : more[who];
}

function agentTls(who: Who = "alpha"): Promise<TLSSocket> {
  const identity = identityOf(who);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port: running.agentPort,
      cert: identity.certPem,
      key: identity.keyPem,
      ca: pki.ca.certPem,
    });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

interface Outcome {
  /** Everything the server sent before closing. */
  raw: string;
}

/** Resolves when the server closes the connection; collects what it sent. */
function closed(socket: TLSSocket | ReturnType<typeof tcpConnect>): Promise<Outcome> {
  let raw = "";
  socket.on("data", (chunk: Buffer) => {
    raw += chunk.toString("latin1");
  });
  socket.on("error", () => undefined);
  return new Promise((resolve) => socket.once("close", () => resolve({ raw })));
}

/** Writes a byte every 100 ms for as long as the socket stays open: a slowloris that never stops. */
function trickle(socket: TLSSocket, byte: string): void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(timer);
    else socket.write(byte);
  }, 100);
  socket.once("close", () => clearInterval(timer));
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

function postForm(path: string, form: Record<string, string>, who: Who = "alpha") {
  return agentForm(running.agentPort, path, form, identityOf(who), pki.ca.certPem);
}

async function record(response: Response): Promise<{ status: number; error?: string; text: string }> {
  const text = await response.text();
  outputs.push(text, JSON.stringify([...response.headers]));
  const error = text.startsWith("{") ? (JSON.parse(text) as { error?: string }).error : undefined;
  return { status: response.status, text, ...(error === undefined ? {} : { error }) };
}

describe("slow clients on the agent port are cut by the deadlines", () => {
  test("a TCP connection that never starts the TLS handshake is closed", async () => {
    const socket = tcpConnect({ host: "127.0.0.1", port: running.agentPort });
    const outcome = await closed(socket);
    expect(outcome.raw).toBe("");
  });

  test("request headers trickled forever (slowloris) → the connection is closed", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write("POST /v1/grants HTTP/1.1\r\nHost: broker\r\nX-Slow: ");
    trickle(socket, "a");
    const outcome = await done;
    // Cut without an answer, or with 408: never served.
    expect([0, 408]).toContain(statusOf(outcome.raw));
  });

  test("a body trickled forever after complete headers → the connection is closed", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write(
      "POST /v1/grants HTTP/1.1\r\nHost: broker\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nprovider=",
    );
    trickle(socket, "s");
    const outcome = await done;
    expect([0, 408]).toContain(statusOf(outcome.raw));
    expect(logger.lines.some((line) => line.includes("grant.created") && line.includes("alpha"))).toBe(false);
  });

  test("an idle keep-alive connection is closed after its request", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write("POST /v1/nothing HTTP/1.1\r\nHost: broker\r\nContent-Length: 0\r\n\r\n");
    const outcome = await done;
    expect(statusOf(outcome.raw)).toBe(404);
  });
});

describe("slow agents on the byte relay (a proxied request whose wrapper is cached)", () => {
  test("a proxied body trickled forever → the connection is closed; the upstream never gets it whole", async () => {
    const wrapper = await mintFor("alpha");
    const target = `/127.0.0.1:${upstream.port}/upload`;
    const get = `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${wrapper}\r\n\r\n`;
    const socket = await agentTls();
    const done = closed(socket);
    // Verified and cached on the first request; the POST on the same connection is the relay's.
    socket.write(get);
    await until(() => accessLines().some((line) => line.includes('"cache":"miss"')));
    const before = upstream.requests.length;
    socket.write(
      `POST ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${wrapper}\r\nContent-Length: 1000\r\n\r\nx=`,
    );
    trickle(socket, "s");
    const outcome = await done;
    // The GET's 200, then the POST cut without an answer or with 408 (request_timeout): never served.
    expect(outcome.raw.match(/^HTTP\/1\.1 \d{3}/gm)?.slice(1) ?? []).not.toContain("HTTP/1.1 200");
    expect(upstream.requests.slice(before).every((r) => r.bodySize !== 1000)).toBe(true);
  });
});

/** Access lines of the proxy so far. */
function accessLines(): string[] {
  return logger.lines.filter((line) => line.includes('"kind":"access"'));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await Bun.sleep(10);
}

/** A wrapper for `who` under the deployment's own keys, as the broker would mint it. */
async function mintFor(who: Who): Promise<string> {
  const keys = await loadKeySets(
    { signing: `file:${dir}/keys/signing.jwks`, encryption: `file:${dir}/keys/encryption.jwks` },
    {},
  );
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: "stub",
      binding: { kind: "x5t#S256", value: thumbprintOf(identityOf(who).der) },
      secret: { token: new Secret("resources-real-token"), type: "Bearer" },
    },
    keys,
    { issuer, tokenTtl: 600, now: Date.now() },
  );
  return minted.token;
}

describe("sizes", () => {
  test("1 MB of request headers → 431, the connection closed", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write("GET /v1/grants HTTP/1.1\r\nHost: broker\r\n");
    const line = `X-Fill: ${"f".repeat(1000)}\r\n`;
    for (let i = 0; i < 1024 && socket.writable; i += 1) socket.write(line);
    const outcome = await done;
    expect(statusOf(outcome.raw)).toBe(431);
  });

  test("a /v1 body over its cap → 413 before the rest is sent (nothing buffered to the end)", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write(
      "POST /v1/token HTTP/1.1\r\nHost: broker\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\n",
    );
    socket.write(`grant_type=${"x".repeat(32 * 1024)}`);
    // The remaining ~10 MB are never sent: a 413 can only come from a server that stopped reading.
    const status = await new Promise<number>((resolve) => {
      let raw = "";
      socket.on("data", (chunk: Buffer) => {
        raw += chunk.toString("latin1");
        if (statusOf(raw) !== 0) resolve(statusOf(raw));
      });
      socket.once("close", () => resolve(statusOf(raw)));
    });
    expect(status).toBe(413);
    socket.destroy();
    await done;
  });

  test("a chunked /v1 body over its cap → 413", async () => {
    const socket = await agentTls();
    const done = closed(socket);
    socket.write(
      "POST /v1/grants HTTP/1.1\r\nHost: broker\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = "x".repeat(4096);
    for (let i = 0; i < 8; i += 1) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const status = await new Promise<number>((resolve) => {
      let raw = "";
      socket.on("data", (data: Buffer) => {
        raw += data.toString("latin1");
        if (statusOf(raw) !== 0) resolve(statusOf(raw));
      });
      socket.once("close", () => resolve(statusOf(raw)));
    });
    expect(status).toBe(413);
    socket.destroy();
    await done;
  });

  test("a consent form over its cap on the web port → 413, declared or streamed", async () => {
    const declared = await fetch(`${issuer}/device/approve`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
      body: `grant=${"g".repeat(1024 * 1024)}`,
    });
    expect(declared.status).toBe(413);
    outputs.push(await declared.text());
    const streamed = await fetch(`${issuer}/device/deny`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 64; i += 1) controller.enqueue(new TextEncoder().encode("g".repeat(4096)));
          controller.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    outputs.push(await streamed.text());
  });
});

describe("canary secrets", () => {
  test("never in logs, errors, metrics or HTML, after a full login and proxied call", async () => {
    const browser = new Browser();
    // The grant and token responses go to their owner and legitimately carry the device code and
    // wrappers; they are not scanned. Everything else is.
    const created = await postForm("/v1/grants", { provider: "stub" }, "gamma");
    expect(created.status).toBe(200);
    const grant = (await created.json()) as { device_code: string; verification_uri_complete: string };
    const canaries = [idp.clientSecret, grant.device_code];
    const { done } = await approveConsent(browser, grant.verification_uri_complete);
    expect(done.status).toBe(200);
    const token = await postForm(
      "/v1/token",
      { grant_type: DEVICE_GRANT, device_code: grant.device_code },
      "gamma",
    );
    expect(token.status).toBe(200);
    const wrapper = ((await token.json()) as { access_token: string }).access_token;
    const gamma = more.gamma;
    // Twice: verified on the first call, served from the cache (the byte relay's case) on the second.
    for (const cache of ["miss", "hit"]) {
      const proxied = await fetch(`https://127.0.0.1:${running.agentPort}/127.0.0.1:${upstream.port}/echo`, {
        headers: { authorization: `Bearer ${wrapper}` },
        tls: { cert: gamma.certPem, key: gamma.keyPem, ca: pki.ca.certPem },
      });
      expect(proxied.status).toBe(200);
      outputs.push(await proxied.text(), JSON.stringify([...proxied.headers]));
      expect(accessLines().at(-1)).toContain(`"cache":"${cache}"`);
    }
    // A refused wrapper and a refused device code: their error bodies are scanned too.
    const forged = await fetch(`https://127.0.0.1:${running.agentPort}/127.0.0.1:${upstream.port}/echo`, {
      headers: { authorization: `Bearer ${wrapper.slice(0, -4)}AAAA` },
      tls: { cert: gamma.certPem, key: gamma.keyPem, ca: pki.ca.certPem },
    });
    expect(forged.status).toBe(401);
    outputs.push(await forged.text());
    await record(
      await postForm("/v1/token", { grant_type: DEVICE_GRANT, device_code: grant.device_code }, "beta"),
    );
    for (const value of Object.values(idp.lastIssued)) if (value) canaries.push(value);
    const metrics = await fetch(`${issuer}/metrics`);
    outputs.push(await metrics.text());
    expect(metrics.status).toBe(200);
    const everything = [...outputs, ...browser.pages.map((p) => p.body), ...logger.lines].join("\n");
    expect(canaries.length).toBeGreaterThanOrEqual(4);
    for (const canary of canaries) expect(everything).not.toContain(canary);
  });
});

describe("polling", () => {
  test("polls faster than the interval → slow_down", async () => {
    const created = await record(await postForm("/v1/grants", { provider: "stub" }, "gamma"));
    const grant = JSON.parse(created.text) as { device_code: string };
    const first = await record(
      await postForm("/v1/token", { grant_type: DEVICE_GRANT, device_code: grant.device_code }, "gamma"),
    );
    expect(first.error).toBe("authorization_pending");
    const second = await record(
      await postForm("/v1/token", { grant_type: DEVICE_GRANT, device_code: grant.device_code }, "gamma"),
    );
    expect(second.status).toBe(400);
    expect(second.error).toBe("slow_down");
  });
});

describe("floods", () => {
  test("grant creations: the per-workload rate, then 429 rate_limited with Retry-After; caps never exceeded", async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        postForm("/v1/grants", { provider: "stub" }).then(async (r) => ({
          retryAfter: r.headers.get("retry-after"),
          ...(await record(r)),
        })),
      ),
    );
    const created = results.filter((r) => r.status === 200);
    expect(created.length).toBe(PENDING_PER_WORKLOAD);
    const refused = results.filter((r) => r.status !== 200);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.error).toBe("rate_limited");
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Another workload has its own bucket and its own per-workload cap.
    const beta = await Promise.all(
      Array.from({ length: 10 }, () => postForm("/v1/grants", { provider: "stub" }, "beta").then(record)),
    );
    expect(beta.filter((r) => r.status === 200).length).toBe(PENDING_PER_WORKLOAD);
    // gamma holds one pending grant (the slow_down test), alpha and beta three each: one slot left.
    const delta = await Promise.all(
      Array.from({ length: 10 }, () => postForm("/v1/grants", { provider: "stub" }, "delta").then(record)),
    );
    expect(delta.filter((r) => r.status === 200).length).toBe(PENDING_TOTAL - 1 - 2 * PENDING_PER_WORKLOAD);
    for (const r of [...beta, ...delta].filter((r) => r.status !== 200)) {
      expect(r.status).toBe(429);
      expect(r.error).toBe("rate_limited");
    }
    expect(
      logger.lines.filter((l) => l.includes("grant.created") && l.includes("rate_limited")).length,
    ).toBeGreaterThan(0);
  });
});

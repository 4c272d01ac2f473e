/**
 * Certificate lifetime on the agent port over real sockets (issue #14): a kept-alive connection
 * whose client certificate expires after its handshake gets `401 certificate_expired` (proxy) or
 * `401 invalid_client` (agent API) on its next request and is closed after that response; and
 * `agent.max_connection_age` closes a connection, idle at once or busy after its response.
 * The certificate's expiry is reached with an injected clock; the connection age in real time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import { routeAgentRequests } from "../../src/agent-port/router.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { createMemoryStore } from "../../src/broker/rendezvous/memory.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { type IssuedCertificate, issueCertificate } from "../../src/core/pki/issue.ts";
import { parseUpstream } from "../../src/core/provider/allowlist.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { startTestAgent, TEST_AGENT_LIMITS } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { rawBody } from "../helpers/raw-http.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";
import { ISSUER, testConfig, testProvider } from "../unit/broker/fixtures.ts";

let pki: TestPki;
let keys: KeySets;
let upstream: Upstream;
let agent: AgentServer;
/** A client certificate valid for an hour of real time: TLS accepts it, the clock below decides. */
let cert: IssuedCertificate;
let clock = Date.now();

beforeAll(async () => {
  pki = await testPki();
  keys = await testKeySets();
  upstream = await startUpstream();
  cert = await issueCertificate(pki.ca, {
    usage: "client",
    uris: ["spiffe://test.example/agents/short"],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
  });
  const provider = testProvider({
    upstreams: [parseUpstream(`http://127.0.0.1:${upstream.port}`, "upstreams")],
  });
  const providers = new Map([["corp", provider]]);
  const config = testConfig();
  const policy = new PolicyGate(config.policy);
  const logger = createMemoryLogger();
  const now = () => clock;
  const revocations = new RevocationList();
  const proxy = createProxyHandler({
    providers,
    policy,
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now,
    logger,
    upstreamTimeout: 10,
    revocations,
  });
  const store = createMemoryStore(config.rendezvous);
  const broker = createAgentApi({
    config,
    policy,
    providers,
    store,
    keys: () => keys,
    now,
    logger,
    revocations,
  });
  agent = await startTestAgent(pki, routeAgentRequests({ broker, proxy }), { now, logger });
});

afterAll(async () => {
  await agent.close();
  await upstream.stop();
});

/** One kept-alive TLS connection, read response by response. */
class Connection {
  #text = "";
  #wake: (() => void) | undefined;
  closed = false;

  private constructor(readonly socket: TLSSocket) {
    socket.on("data", (chunk: Buffer) => {
      this.#text += chunk.toString("latin1");
      this.#wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on("error", () => undefined);
  }

  static open(port: number, who: IssuedCertificate): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: pki.ca.certPem,
        cert: who.certPem,
        key: who.keyPem,
      });
      socket.once("secureConnect", () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends a request and waits for one whole response (Content-Length or chunked). */
  async exchange(head: string, body = ""): Promise<string> {
    this.#text = "";
    this.socket.write(`${head}\r\n\r\n${body}`);
    while (!this.#complete() && !this.closed) await new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#text;
  }

  /** Resolves once the server has closed the connection. */
  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #complete(): boolean {
    const end = this.#text.indexOf("\r\n\r\n");
    if (end < 0) return false;
    const head = this.#text.slice(0, end);
    if (/transfer-encoding: chunked/i.test(head)) return this.#text.endsWith("0\r\n\r\n");
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    return this.#text.length >= end + 4 + length;
  }
}

async function wrapperFor(who: IssuedCertificate): Promise<string> {
  const request = {
    kind: "access" as const,
    provider: "corp",
    binding: { kind: "x5t#S256" as const, value: thumbprintOf(who.der) },
    secret: { token: new Secret("real-upstream-token"), type: "Bearer" },
  };
  return (await mintWrapper(request, keys, { issuer: ISSUER, tokenTtl: 86_400, now: Date.now() })).token;
}

const codeOf = (raw: string) => JSON.parse(rawBody(raw)) as Record<string, string>;

describe("a certificate that expires while its connection is kept alive", () => {
  test("proxy: the next request gets 401 certificate_expired and the connection is closed", async () => {
    clock = Date.now();
    const wrapper = await wrapperFor(cert);
    const connection = await Connection.open(agent.port, cert);
    const proxied = `GET /127.0.0.1:${upstream.port}/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${wrapper}`;
    expect(await connection.exchange(proxied)).toStartWith("HTTP/1.1 200");
    const served = upstream.requests.length;
    clock = Date.now() + 3_600_000 + 5_000;
    try {
      const refused = await connection.exchange(proxied);
      expect(refused).toStartWith("HTTP/1.1 401");
      expect(refused.toLowerCase()).toContain("connection: close");
      expect(codeOf(refused).code).toBe("certificate_expired");
      await connection.untilClosed();
      expect(upstream.requests.length).toBe(served);
    } finally {
      clock = Date.now();
    }
  });

  test("agent API: 401 invalid_client, and the connection is closed", async () => {
    clock = Date.now();
    const connection = await Connection.open(agent.port, cert);
    const form = "grant_type=refresh_token&refresh_token=x";
    const post = `POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}`;
    expect(await connection.exchange(post, form)).toStartWith("HTTP/1.1 400");
    clock = Date.now() + 3_600_000 + 5_000;
    try {
      const refused = await connection.exchange(post, form);
      expect(refused).toStartWith("HTTP/1.1 401");
      expect(codeOf(refused).error).toBe("invalid_client");
      await connection.untilClosed();
    } finally {
      clock = Date.now();
    }
  });

  test("a certificate not yet valid by the server's clock is refused at the handshake: nothing is served", async () => {
    clock = Date.now() - 3_600_000;
    try {
      // The handshake's own check refuses it first: nothing is served at all.
      const connection = await Connection.open(agent.port, cert);
      await connection.untilClosed();
      expect(connection.closed).toBe(true);
    } finally {
      clock = Date.now();
    }
  });
});

describe("agent.max_connection_age", () => {
  let aged: AgentServer;
  let release: () => void = () => {};

  beforeAll(async () => {
    const handler = async (request: { target: string }) => {
      if (request.target === "/slow") await new Promise<void>((resolve) => (release = resolve));
      return new Response("ok", { headers: { "content-length": "2" } });
    };
    aged = await startTestAgent(pki, handler, { limits: { ...TEST_AGENT_LIMITS, maxConnectionAge: 1 } });
  });

  afterAll(() => aged.close());

  test("an idle connection older than the limit is closed", async () => {
    const connection = await Connection.open(aged.port, pki.alpha);
    expect(await connection.exchange("GET / HTTP/1.1\r\nHost: x")).toStartWith("HTTP/1.1 200");
    await connection.untilClosed();
    expect(connection.closed).toBe(true);
  });

  test("a busy one finishes its response, marked Connection: close, then closes", async () => {
    const connection = await Connection.open(aged.port, pki.alpha);
    const pending = connection.exchange("GET /slow HTTP/1.1\r\nHost: x");
    await Bun.sleep(1_500);
    expect(connection.closed).toBe(false);
    release();
    const response = await pending;
    expect(response).toStartWith("HTTP/1.1 200");
    expect(response.toLowerCase()).toContain("connection: close");
    await connection.untilClosed();
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import type { AgentRequest } from "../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { startTestAgent, TEST_AGENT_LIMITS, trustOf } from "../helpers/agent-server.ts";
import { ALPHA_ID, type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { rawBody } from "../helpers/raw-http.ts";

type Route = (request: AgentRequest) => Promise<Response>;

let pki: TestPki;
let server: AgentServer;
const logger = createMemoryLogger();
const seen: AgentRequest[] = [];
const routes = new Map<string, Route>();

beforeAll(async () => {
  pki = await testPki();
  server = await startTestAgent(
    pki,
    async (request) => {
      seen.push(request);
      const route = routes.get(request.target.split("?")[0] ?? "");
      return route ? route(request) : new Response(`hello ${request.client.workload}`);
    },
    { logger },
  );
});

afterAll(async () => {
  await server.close();
});

interface Client {
  cert?: { certPem: string; keyPem: string; chainPem?: string };
  ca?: string;
  port?: number;
}

/** Opens a TLS connection as `client`; resolves once the handshake completed (or rejects). */
function open(client: Client): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port: client.port ?? server.port,
      servername: "localhost",
      ca: client.ca ?? pki.ca.certPem,
      cert: client.cert?.chainPem ?? client.cert?.certPem,
      key: client.cert?.keyPem,
    });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends raw bytes and collects everything until the server closes: "" when it refused us. */
async function exchange(client: Client, raw: string): Promise<string> {
  let socket: TLSSocket;
  try {
    socket = await open(client);
  } catch {
    return "";
  }
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(text));
    socket.write(raw);
  });
}

/** Reads one complete response (Content-Length or chunked) from a kept-alive socket. */
function readResponse(socket: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (complete(text)) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => resolve(text));
  });
}

function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  if (/transfer-encoding: chunked/i.test(text.slice(0, end))) return text.endsWith("\r\n0\r\n\r\n");
  return text.length >= end + 4 + Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
}

const get = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`;

describe("authenticated requests", () => {
  test("a SPIFFE client certificate reaches the handler with its identity and the raw request", async () => {
    const before = seen.length;
    const text = await exchange({ cert: pki.alpha }, get("/a/../b%2e?x=1", "X-Dup: one\r\nx-dup: two\r\n"));
    expect(text).toStartWith("HTTP/1.1 200");
    expect(rawBody(text)).toBe(`hello ${ALPHA_ID}`);
    const request = seen[before];
    expect(request?.client.spiffeId).toBe(ALPHA_ID);
    expect(request?.client.thumbprint).toBe(thumbprintOf(pki.alpha.der));
    expect(request?.target).toBe("/a/../b%2e?x=1");
    expect(request?.method).toBe("GET");
    expect(request?.body).toBeNull();
    expect(request?.rawHeaders.filter(([name]) => name.toLowerCase() === "x-dup")).toEqual([
      ["X-Dup", "one"],
      ["x-dup", "two"],
    ]);
  });

  test("fetch with a CN-only certificate and one under a presented intermediate", async () => {
    const url = `https://localhost:${server.port}/whoami`;
    const cnOnly = await fetch(url, {
      tls: { cert: pki.cnOnly.certPem, key: pki.cnOnly.keyPem, ca: pki.ca.certPem },
    });
    expect(await cnOnly.text()).toBe("hello legacy-agent");
    const chained = await exchange({ cert: pki.viaIntermediate }, get("/whoami"));
    expect(rawBody(chained)).toBe("hello spiffe://test.example/agents/chained");
  });
});

describe("refused client certificates never reach the handler", () => {
  const cases: Array<[string, (p: TestPki) => IssuedCertificate | undefined]> = [
    ["no certificate", () => undefined],
    ["other CA", (p) => p.bad.otherCa],
    ["self-signed", (p) => p.bad.selfSigned],
    ["expired", (p) => p.bad.expired],
    ["not yet valid", (p) => p.bad.notYetValid],
    ["wrong EKU", (p) => p.bad.wrongEku],
    ["CA:TRUE leaf", (p) => p.bad.caLeaf],
    ["intermediate not presented", (p) => p.bad.missingIntermediate],
    ["intermediate from another CA", (p) => p.bad.rogueIntermediate],
    ["two URI SANs", (p) => p.bad.twoUris],
    ["upper-case trust domain", (p) => p.bad.badSpiffe.upperCaseTrustDomain],
    ["dot-dot SPIFFE path", (p) => p.bad.badSpiffe.dotDot],
    ["NUL in SPIFFE ID", (p) => p.bad.badSpiffe.nul],
  ];
  test.each(cases)("%s", async (_name, pick) => {
    const before = seen.length;
    const cert = pick(pki);
    const text = await exchange(cert ? { cert } : {}, get("/"));
    expect(text).toBe("");
    expect(seen.length).toBe(before);
  });

  test("certificates that pass the TLS stack but not the in-code check are logged as auth.failed", () => {
    const failures = logger.lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.event === "auth.failed");
    const reasons = new Set(failures.map((entry) => entry.reason));
    expect(reasons.has("spiffe_invalid")).toBe(true);
    expect(reasons.has("certificate_invalid")).toBe(true);
    expect(reasons.has("tls_handshake")).toBe(true);
    const der = Buffer.from(pki.bad.caLeaf.der).toString("base64");
    expect(
      logger.lines.some((line) => line.includes("BEGIN CERTIFICATE") || line.includes(der.slice(20, 60))),
    ).toBe(false);
  });

  test("1,000 bad handshakes, 25 at a time, are all refused", async () => {
    const before = seen.length;
    const kinds: Array<IssuedCertificate | undefined> = [
      undefined,
      pki.bad.otherCa,
      pki.bad.expired,
      pki.bad.caLeaf,
    ];
    let answered = 0;
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 25 }, (_, i) => {
        const cert = kinds[(round * 25 + i) % kinds.length];
        return exchange(cert ? { cert } : {}, get("/"));
      });
      answered += (await Promise.all(batch)).filter((text) => text !== "").length;
    }
    expect(answered).toBe(0);
    expect(seen.length).toBe(before);
  });
});

describe("HTTP behaviour", () => {
  test("keep-alive: two requests on one connection", async () => {
    const socket = await open({ cert: pki.beta });
    socket.write("GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(await readResponse(socket)).toStartWith("HTTP/1.1 200");
    socket.write("GET /two HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const second = await readResponse(socket);
    expect(second).toStartWith("HTTP/1.1 200");
    expect(rawBody(second)).toBe("hello spiffe://test.example/agents/beta");
    socket.destroy();
  });

  test("a large response body streams through", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(97);
    const chunks = 512; // 32 MiB, produced on demand
    routes.set("/large", async () => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "application/octet-stream" } });
    });
    const url = `https://localhost:${server.port}/large`;
    const response = await fetch(url, {
      tls: { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem },
    });
    const reader = response.body?.getReader();
    let total = 0;
    for (let part = await reader?.read(); part && !part.done; part = await reader?.read())
      total += part.value.byteLength;
    expect(total).toBe(chunk.byteLength * chunks);
  });

  test("a request body streams to the handler", async () => {
    routes.set(
      "/echo",
      async (request) => new Response(`got ${(await new Response(request.body).text()).length}`),
    );
    const payload = "x".repeat(300_000);
    const text = await exchange(
      { cert: pki.alpha },
      `POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`,
    );
    expect(rawBody(text)).toBe("got 300000");
  });

  test("several Set-Cookie headers stay separate", async () => {
    routes.set("/cookies", async () => {
      const headers = new Headers();
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2, with comma; Path=/");
      return new Response("ok", { status: 201, headers });
    });
    const text = await exchange({ cert: pki.alpha }, get("/cookies"));
    expect(text).toStartWith("HTTP/1.1 201");
    expect(text).toContain("\r\nset-cookie: a=1; Path=/\r\n");
    expect(text).toContain("\r\nset-cookie: b=2, with comma; Path=/\r\n");
  });

  test("a handler exception is a 500 problem without details", async () => {
    routes.set("/boom", async () => {
      throw new Error("secret-detail-xyz");
    });
    const text = await exchange({ cert: pki.alpha }, get("/boom"));
    expect(text).toStartWith("HTTP/1.1 500");
    expect(text).toContain("application/problem+json");
    const body = JSON.parse(rawBody(text));
    expect(body.code).toBe("server_error");
    expect(text).not.toContain("secret-detail-xyz");
    expect(logger.lines.some((line) => line.includes("secret-detail-xyz"))).toBe(false);
  });

  test("oversized headers get 431", async () => {
    const before = seen.length;
    const text = await exchange(
      { cert: pki.alpha },
      get("/", `X-Big: ${"a".repeat(TEST_AGENT_LIMITS.maxHeaderSize * 2)}\r\n`),
    );
    expect(text).toStartWith("HTTP/1.1 431");
    expect(seen.length).toBe(before);
  });

  test("a client that disconnects aborts the request signal", async () => {
    let aborted: (() => void) | undefined;
    const abortedPromise = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    let started: (() => void) | undefined;
    const startedPromise = new Promise<void>((resolve) => {
      started = resolve;
    });
    routes.set("/hang", (request) => {
      request.signal.addEventListener("abort", () => aborted?.());
      started?.();
      return new Promise<Response>(() => undefined);
    });
    const socket = await open({ cert: pki.alpha });
    socket.write(get("/hang"));
    await startedPromise;
    socket.destroy();
    await abortedPromise;
    expect(seen.at(-1)?.signal.aborted).toBe(true);
  });
});

describe("reloadTls", () => {
  test("new connections get the new certificate and client CA; an open connection keeps working", async () => {
    const kept = await open({ cert: pki.alpha });
    // With TLS 1.3 the client finishes first: let the server authenticate it before the reload.
    kept.write("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(await readResponse(kept)).toStartWith("HTTP/1.1 200");
    server.reloadTls(pki.otherServer.certPem, pki.otherServer.keyPem, trustOf(pki.otherCa.der));
    try {
      // The new server certificate chains to the other CA only.
      expect(await exchange({ cert: pki.alpha, ca: pki.ca.certPem }, get("/"))).toBe("");
      expect(await exchange({ cert: pki.bad.otherCa, ca: pki.otherCa.certPem }, get("/"))).toStartWith(
        "HTTP/1.1 200",
      );
      expect(await exchange({ cert: pki.alpha, ca: pki.otherCa.certPem }, get("/"))).toBe("");
      kept.write("GET /still HTTP/1.1\r\nHost: localhost\r\n\r\n");
      expect(await readResponse(kept)).toStartWith("HTTP/1.1 200");
    } finally {
      kept.destroy();
      server.reloadTls(pki.server.certPem, pki.server.keyPem, trustOf(pki.ca.der));
    }
    expect(await exchange({ cert: pki.alpha }, get("/"))).toStartWith("HTTP/1.1 200");
  });

  test("unusable material is refused with a config error and the old context stays", () => {
    expect(() => server.reloadTls("garbage", pki.server.keyPem, trustOf(pki.ca.der))).toThrow(
      "agent.tls_cert",
    );
  });

  test("start-up with an unusable key is a config error", async () => {
    const start = startTestAgent(pki, async () => new Response("never"), {
      keyPem: pki.alpha.keyPem.replace(/[A-Z]{8}/, "AAAAAAAA"),
    });
    await expect(start).rejects.toThrow("agent.tls_cert");
  });
});

describe("port sharing", () => {
  const start = (port: number, reusePort: boolean) =>
    startTestAgent(pki, async () => new Response("shared"), { port, reusePort });

  test("a second server on a busy port fails with EADDRINUSE although the agent port listens with SO_REUSEPORT", async () => {
    const port = freePort();
    const first = await start(port, false);
    try {
      await expect(start(port, false)).rejects.toMatchObject({ code: "EADDRINUSE" });
      expect(await exchange({ cert: pki.alpha, port }, get("/"))).toStartWith("HTTP/1.1 200");
    } finally {
      await first.close();
    }
  });

  test("--workers (reusePort) share the port on purpose", async () => {
    const port = freePort();
    const first = await start(port, true);
    const second = await start(port, true);
    try {
      expect(second.port).toBe(port);
      await first.close();
      expect(await exchange({ cert: pki.alpha, port }, get("/"))).toStartWith("HTTP/1.1 200");
    } finally {
      await second.close();
    }
  });
});

describe("time limits on bridged connections", () => {
  let strict: AgentServer;
  const hung: AgentRequest[] = [];

  beforeAll(async () => {
    strict = await startTestAgent(
      pki,
      async (request) => {
        if (request.target !== "/hang") return new Response("quick");
        hung.push(request);
        return new Promise<Response>(() => undefined);
      },
      { limits: { headersTimeout: 0.3, idleTimeout: 0.3, requestTimeout: 0.5, maxHeaderSize: 8192 } },
    );
  });

  afterAll(async () => {
    await strict.close();
  });

  /** Resolves with what the server sent once it closed the connection; the test timeout is the failure. */
  const closedAfter = (socket: TLSSocket) =>
    new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.on("close", () => resolve(text));
    });

  test("a request head that never completes is cut (slowloris)", async () => {
    const socket = await open({ cert: pki.alpha, port: strict.port });
    const closed = closedAfter(socket);
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
    expect(await closed).toBe("");
  });

  test("an idle kept-alive connection is closed after its response", async () => {
    const socket = await open({ cert: pki.alpha, port: strict.port });
    const closed = closedAfter(socket);
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(rawBody(await closed)).toBe("quick");
  });

  test("a request that outlives requestTimeout is cut and its signal aborted", async () => {
    const socket = await open({ cert: pki.alpha, port: strict.port });
    const closed = closedAfter(socket);
    socket.write("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(await closed).toBe("");
    expect(hung.at(-1)?.signal.aborted).toBe(true);
  });
});

describe("handshake budget", () => {
  test("handshakes beyond max_handshakes_per_address are closed at once; a freed slot serves a real client", async () => {
    const capped = await startTestAgent(pki, async () => new Response("served"), {
      // A long handshake timeout: without the cap the third connection would stay open past the test timeout.
      limits: { ...TEST_AGENT_LIMITS, handshakeTimeout: 120, maxHandshakesPerAddress: 2 },
    });
    const holders = [rawConnection(capped.port), rawConnection(capped.port)];
    try {
      await Promise.all(holders.map((holder) => holder.connected));
      // Two handshake-less connections hold the address's budget: the third is closed without a byte.
      const third = rawConnection(capped.port);
      await third.connected;
      expect(await third.closed).toBe(true);
      for (const holder of holders) holder.socket.destroy();
      await Bun.sleep(50);
      const socket = await open({ cert: pki.alpha, port: capped.port });
      socket.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      const text = await new Promise<string>((resolve) => {
        let received = "";
        socket.on("data", (chunk: Buffer) => {
          received += chunk.toString("latin1");
        });
        socket.on("close", () => resolve(received));
      });
      expect(rawBody(text)).toBe("served");
    } finally {
      for (const holder of holders) holder.socket.destroy();
      await capped.close();
    }
  });
});

/** A plain TCP connection that never starts TLS: what a descriptor-exhaustion attacker opens. */
function rawConnection(port: number) {
  const socket = netConnect(port, "127.0.0.1");
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
  return { socket, connected, closed };
}

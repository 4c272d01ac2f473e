/**
 * Connections that never finish a handshake against the deployed composition (`startSurrogate` from
 * a configuration file): idle TCP sockets bound to 127.0.0.2 up to and past the per-address budget,
 * while a real agent from 127.0.0.1 still completes its handshake and request. Closing is asserted
 * by its effect (the server closed the socket; the test's own timeout is the only bound), never by
 * measuring time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { type Socket, connect as tcpConnect } from "node:net";
import { connect } from "node:tls";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { writeConfigDir } from "../helpers/process.ts";
import { rawBody } from "../helpers/raw-http.ts";

/** As many authenticated connections as the process serves: the old code let idle sockets take them. */
const MAX_CONNECTIONS = 40;
const PER_ADDRESS = 32;

let dir: string;
let pki: TestPki;
let running: RunningSurrogate;
let webPort: number;
const logger = createMemoryLogger();
const opened: Socket[] = [];

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "handshake");
  webPort = freePort();
  // handshake_timeout is long here so that only the budget can close a socket in these tests.
  const toml = `issuer = "http://127.0.0.1:${webPort}"
[web]
listen = "127.0.0.1:${webPort}"
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
handshake_timeout = "120s"
max_connections = ${MAX_CONNECTIONS}
max_handshakes_per_address = ${PER_ADDRESS}
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
`;
  running = await startSurrogate(await parseConfig(toml, {}, { baseDir: dir }), { env: {}, logger });
});

afterAll(async () => {
  for (const socket of opened) socket.destroy();
  await running?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Idle {
  socket: Socket;
  /** Resolves once the server closed it. */
  closed: Promise<void>;
  isOpen: () => boolean;
}

/** A TCP connection from `from` that never starts TLS: what a descriptor-exhaustion attacker opens. */
async function idleFrom(from: string, port: number): Promise<Idle> {
  const socket = tcpConnect({ host: "127.0.0.1", port, localAddress: from });
  opened.push(socket);
  let open = true;
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      open = false;
      resolve();
    }),
  );
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, closed, isOpen: () => open };
}

/** A real agent from 127.0.0.1: mTLS handshake and one request; what the server answered ("" if cut). */
function agentRequest(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      cert: pki.alpha.certPem,
      key: pki.alpha.keyPem,
      ca: pki.ca.certPem,
    });
    let received = "";
    socket.once("secureConnect", () =>
      socket.write("GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.once("close", () => resolve(received));
    socket.on("error", () => undefined);
  });
}

async function metric(reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`surrogate_agent_connections_refused_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe("proof of concept: idle connections filling the agent port", () => {
  test("more idle sockets than max_connections from one address: a real agent is still served", async () => {
    const idle: Idle[] = [];
    for (let i = 0; i < MAX_CONNECTIONS + 8; i += 1)
      idle.push(await idleFrom("127.0.0.2", running.agentPort));
    const answer = await agentRequest(running.agentPort);
    expect(answer).toStartWith("HTTP/1.1 404");
    // The first PER_ADDRESS are held (nothing closes them before the long handshake timeout); every
    // one past the per-address budget was closed by the server at once.
    await Promise.all(idle.slice(PER_ADDRESS).map((each) => each.closed));
    expect(idle.slice(0, PER_ADDRESS).every((each) => each.isOpen())).toBe(true);
    for (const each of idle) each.socket.destroy();
  });
});

describe("the handshake budget", () => {
  test("per address: refusals counted in /metrics, logged once per source per minute", async () => {
    const before = await metric("per_address");
    const idle: Idle[] = [];
    for (let i = 0; i < PER_ADDRESS + 5; i += 1) idle.push(await idleFrom("127.0.0.3", running.agentPort));
    await Promise.all(idle.slice(PER_ADDRESS).map((each) => each.closed));
    expect(await metric("per_address")).toBe(before + 5);
    const lines = logger.lines.filter(
      (line) => line.includes('"connection.refused"') && line.includes("127.0.0.3"),
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      reason: "per_address",
      remote: "127.0.0.3",
      outcome: "refused",
    });
    // A freed slot is usable again by the same address.
    idle[0]!.socket.destroy();
    await idle[0]!.closed;
    const again = await idleFrom("127.0.0.3", running.agentPort);
    const refusedSoFar = await metric("per_address");
    expect(again.isOpen()).toBe(true);
    for (const each of [...idle, again]) each.socket.destroy();
    expect(refusedSoFar).toBe(before + 5);
  });

  test("authenticated connections still count against max_connections", async () => {
    const capped = await startTestAgent(pki, async () => new Response("served"), {
      limits: {
        headersTimeout: 60,
        idleTimeout: 60,
        requestTimeout: 60,
        maxHeaderSize: 8192,
        maxConnections: 1,
      },
    });
    try {
      const holder = connect({
        host: "127.0.0.1",
        port: capped.port,
        cert: pki.alpha.certPem,
        key: pki.alpha.keyPem,
        ca: pki.ca.certPem,
      });
      holder.on("error", () => undefined);
      await new Promise<void>((resolve) => holder.once("secureConnect", () => resolve()));
      holder.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await new Promise<void>((resolve) => holder.once("data", () => resolve()));
      expect(await agentRequest(capped.port)).toBe("");
      holder.destroy();
      await new Promise<void>((resolve) => holder.once("close", () => resolve()));
      // The slot frees when the holder goes: a new agent is served.
      let answer = "";
      for (let attempt = 0; attempt < 50 && answer === ""; attempt += 1)
        answer = await agentRequest(capped.port);
      expect(rawBody(answer)).toBe("served");
    } finally {
      await capped.close();
    }
  });

  test("handshake_timeout closes a silent connection, apart from a long headers_timeout", async () => {
    const quick = await startTestAgent(pki, async () => new Response("served"), {
      limits: {
        handshakeTimeout: 0.3,
        headersTimeout: 120,
        idleTimeout: 120,
        requestTimeout: 120,
        maxHeaderSize: 8192,
      },
    });
    try {
      const silent = await idleFrom("127.0.0.4", quick.port);
      await silent.closed;
      expect(silent.isOpen()).toBe(false);
      expect(rawBody(await agentRequest(quick.port))).toBe("served");
    } finally {
      await quick.close();
    }
  });
});

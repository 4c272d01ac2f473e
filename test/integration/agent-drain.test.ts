import { afterEach, beforeAll, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import type { AgentHandler } from "../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";

let pki: TestPki;
let server: AgentServer | undefined;

beforeAll(async () => {
  pki = await testPki();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(handler: AgentHandler): Promise<AgentServer> {
  server = await startTestAgent(pki, handler);
  return server;
}

/** A connected client that records everything the server sends until it closes. */
async function client(
  port: number,
): Promise<{ socket: TLSSocket; received: () => string; closed: Promise<void> }> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: pki.ca.certPem,
      cert: pki.alpha.certPem,
      key: pki.alpha.keyPem,
    });
    s.once("secureConnect", () => resolve(s));
    s.once("error", reject);
  });
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, received: () => text, closed };
}

test("drain: a pipelined request in flight when draining starts still gets its response", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let slowStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    slowStarted = resolve;
  });
  const agent = await start(async (request) => {
    if (request.target !== "/slow") return new Response("fast");
    slowStarted();
    await gate;
    return new Response("slow-done");
  });
  const { socket, received, closed } = await client(agent.port);
  socket.write("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await started;
  const closing = agent.close(10_000);
  release();
  await closed;
  await closing;
  expect(received()).toContain("fast");
  expect(received()).toContain("slow-done");
});

test("drain: a request arriving on a connection the drain already ended is never handled", async () => {
  const targets: string[] = [];
  const agent = await start(async (request) => {
    targets.push(request.target);
    return new Response("ok", { headers: { "content-length": "2" } });
  });
  const { socket, received, closed } = await client(agent.port);
  socket.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  while (!received().endsWith("\r\n\r\nok")) await new Promise((resolve) => socket.once("data", resolve));
  const closing = agent.close(10_000);
  // Written after the server ended the idle connection: nobody could ever read its answer.
  socket.write("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
  await closed;
  await closing;
  expect(targets).toEqual(["/first"]);
});

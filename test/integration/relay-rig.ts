/**
 * The byte relay over the real agent port, for the relay suites: mTLS agents with raw sockets, a raw
 * TLS upstream that answers with crafted bytes and records which connection each request came on,
 * and a counter of the requests the relay (not the handler) took on. The wrapper is used once on the
 * handler path at start (it verifies and caches), so the relay serves every later request.
 */
import { expect } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import type { AgentHandler } from "../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { testPki } from "../helpers/pki.ts";
import { bearerProvider } from "../helpers/providers.ts";
import {
  type RawServer,
  type RawServerHooks,
  type Responder,
  startRawServer,
  until,
} from "../unit/proxy/upstream/harness.ts";

const ISSUER = "https://broker.test";
export const REAL = "real-upstream-token-5f1d9c";
export const MASKED = `[redacted]${"*".repeat(REAL.length - 10)}`;

export interface Parsed {
  status: number;
  head: string;
  fields: Array<[string, string]>;
  body: Buffer;
}

export interface Session {
  socket: TLSSocket;
  received: () => Buffer;
  closed: Promise<void>;
}

export interface RelayRig {
  upstream: RawServer;
  agent: AgentServer;
  wrapper: string;
  logger: ReturnType<typeof createMemoryLogger>;
  revocations: RevocationList;
  /** Requests the relay took on so far. */
  relayed: number;
  /** What the upstream answers next; each test sets it. */
  respond: Responder;
  /** A GET through the proxy to the upstream, with the wrapper. */
  get(path: string, extra?: string): string;
  /** One mTLS connection to the agent port. */
  session(): Promise<Session>;
  /** Sends the requests in one write (pipelined) and reads as many complete responses. */
  exchange(requests: string[]): Promise<Parsed[]>;
  stop(): Promise<void>;
}

export interface RigOptions {
  /** The raw upstream's hooks. */
  hooks?: RawServerHooks;
  /** More allowed upstreams (host:port) besides the raw one. */
  upstreams?: readonly string[];
  /** `agent.scrub_responses`; default true. */
  scrubResponses?: boolean;
  /**
   * Seconds the upstream may stay silent; default 1, so the timeout tests are quick. Suites that
   * stream tens of megabytes while other suites load the machine give it more, or a busy moment
   * reads as a silent upstream.
   */
  upstreamTimeout?: number;
}

export async function startRelayRig(options: RigOptions = {}): Promise<RelayRig> {
  const { hooks = {}, upstreams = [], scrubResponses = true, upstreamTimeout = 1 } = options;
  const [pki, keys] = await Promise.all([testPki(), testKeySets()]);
  const logger = createMemoryLogger();
  const revocations = new RevocationList();
  const rig = {
    relayed: 0,
    respond: ((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")) as Responder,
  } as RelayRig;
  const upstream = startRawServer((request, reply) => rig.respond(request, reply), pki.server, hooks);
  const handler = createProxyHandler({
    providers: new Map([["corp", bearerProvider("corp", [`127.0.0.1:${upstream.port}`, ...upstreams])]]),
    policy: new PolicyGate([{ workload: "**", providers: ["corp"] }]),
    revocations,
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now: Date.now,
    logger,
    upstreamTimeout,
    upstreamCa: pki.ca.certPem,
    scrubResponses,
  });
  const agent = await startTestAgent(pki, counting(handler, rig), { logger });
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: "corp",
      binding: { kind: "x5t#S256", value: thumbprintOf(pki.alpha.der) },
      secret: { token: new Secret(REAL), type: "Bearer" },
    },
    keys,
    { issuer: ISSUER, tokenTtl: 600, now: Date.now() },
  );
  const session = (): Promise<Session> => openSession(agent.port, pki);
  Object.assign(rig, {
    upstream,
    agent,
    wrapper: minted.token,
    logger,
    revocations,
    get: (path: string, extra = "") =>
      `GET /127.0.0.1:${upstream.port}${path} HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${minted.token}\r\n${extra}\r\n`,
    session,
    exchange: (requests: string[]) => exchangeOn(session, requests),
    stop: async () => {
      await agent.close();
      upstream.stop();
    },
  });
  // The first use verifies the wrapper on the handler path and caches it.
  const [first] = await rig.exchange([rig.get("/warm")]);
  expect(first?.status).toBe(200);
  return rig;
}

/** The handler, with its relay counted. */
function counting(handler: AgentHandler, rig: { relayed: number }): AgentHandler {
  const relay = handler.relay;
  if (relay === undefined) throw new Error("the proxy handler offers no relay");
  const wrapped: AgentHandler = (request) => handler(request);
  wrapped.relay = (request, socket) => {
    const call = relay(request, socket);
    if (call !== undefined) rig.relayed += 1;
    return call;
  };
  return wrapped;
}

function openSession(port: number, pki: Awaited<ReturnType<typeof testPki>>): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      cert: pki.alpha.certPem,
      key: pki.alpha.keyPem,
      ca: pki.ca.certPem,
    });
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((done) => socket.on("close", () => done()));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("secureConnect", () => resolve({ socket, received: () => Buffer.concat(chunks), closed }));
    socket.once("error", reject);
  });
}

async function exchangeOn(session: () => Promise<Session>, requests: string[]): Promise<Parsed[]> {
  const heads = requests.map((request) => request.startsWith("HEAD "));
  const { socket, received, closed } = await session();
  socket.write(requests.join(""));
  let parsed: Parsed[] = [];
  let ended = false;
  void closed.then(() => {
    ended = true;
  });
  await until(() => {
    parsed = parseAll(received(), heads);
    return parsed.length >= requests.length || ended;
  });
  socket.destroy();
  return parsed;
}

/** `heads[i]`: the i-th request was HEAD, so its answer has no body (RFC 9110 §9.3.2). */
export function parseAll(bytes: Buffer, heads: boolean[] = []): Parsed[] {
  const out: Parsed[] = [];
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf("\r\n\r\n", offset);
    if (end < 0) return out;
    const head = bytes.toString("latin1", offset, end);
    const [line = "", ...lines] = head.split("\r\n");
    const fields = lines.map((l): [string, string] => [
      l.slice(0, l.indexOf(":")),
      l.slice(l.indexOf(":") + 2),
    ]);
    const field = (name: string) => fields.find(([n]) => n === name)?.[1];
    const status = Number(line.split(" ")[1]);
    let at = end + 4;
    let body: Buffer;
    if (heads[out.length] === true || status === 204 || status === 304 || status < 200) {
      body = Buffer.alloc(0);
    } else if (field("transfer-encoding") === "chunked") {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = bytes.indexOf("\r\n", at);
        if (eol < 0) return out;
        const size = Number.parseInt(bytes.toString("latin1", at, eol), 16);
        if (bytes.length < eol + 2 + size + 2) return out;
        parts.push(bytes.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(field("content-length") ?? 0);
      if (bytes.length < at + length) return out;
      body = bytes.subarray(at, at + length);
      at += length;
    }
    out.push({ status, head, fields, body });
    offset = at;
  }
}

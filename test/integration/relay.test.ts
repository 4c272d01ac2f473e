/**
 * The proxy's byte relay over the real agent port: mTLS agents with raw sockets, a raw TLS upstream
 * that answers with crafted bytes and records which connection each request came on. The first
 * request of each wrapper takes the handler path (it verifies and caches); the relay serves the rest,
 * which every test checks by counting the requests the relay took on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import type { AgentHandler } from "../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { newRule } from "../../src/core/access/revocation.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { bearerProvider } from "../helpers/providers.ts";
import { type RawServer, type Responder, startRawServer, until } from "../unit/proxy/upstream/harness.ts";

const ISSUER = "https://broker.test";
const REAL = "real-upstream-token-5f1d9c";
const MASKED = `[redacted]${"*".repeat(REAL.length - 10)}`;

let pki: TestPki;
let keys: KeySets;
let upstream: RawServer;
let agent: AgentServer;
let wrapper: string;
let relayed = 0;
/** What the upstream answers next; each test sets it. */
let respond: Responder = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
const logger = createMemoryLogger();
const revocations = new RevocationList();

beforeAll(async () => {
  [pki, keys] = await Promise.all([testPki(), testKeySets()]);
  upstream = startRawServer((request, reply) => respond(request, reply), {
    certPem: pki.server.certPem,
    keyPem: pki.server.keyPem,
  });
  const corp = bearerProvider("corp", [`127.0.0.1:${upstream.port}`]);
  const handler = createProxyHandler({
    providers: new Map([["corp", corp]]),
    policy: new PolicyGate([{ workload: "**", providers: ["corp"] }]),
    revocations,
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now: Date.now,
    logger,
    upstreamTimeout: 1,
    upstreamCa: pki.ca.certPem,
  });
  agent = await startTestAgent(pki, counting(handler), { logger });
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
  wrapper = minted.token;
  // The first use verifies the wrapper on the handler path and caches it.
  const [first] = await exchange([get("/warm")]);
  expect(first?.status).toBe(200);
});

afterAll(async () => {
  await agent.close();
  upstream.stop();
});

/** The handler, with its relay counted. */
function counting(handler: AgentHandler): AgentHandler {
  const relay = handler.relay;
  if (relay === undefined) throw new Error("the proxy handler offers no relay");
  const wrapped: AgentHandler = (request) => handler(request);
  wrapped.relay = (request, socket) => {
    const call = relay(request, socket);
    if (call !== undefined) relayed += 1;
    return call;
  };
  return wrapped;
}

function get(path: string, extra = ""): string {
  return `GET /127.0.0.1:${upstream.port}${path} HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${wrapper}\r\n${extra}\r\n`;
}

interface Parsed {
  status: number;
  head: string;
  fields: Array<[string, string]>;
  body: Buffer;
}

/** One mTLS connection to the agent port. */
function session(): Promise<{ socket: TLSSocket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port: agent.port,
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

/** Sends the requests in one write (pipelined) and reads as many complete responses. */
async function exchange(requests: string[]): Promise<Parsed[]> {
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
function parseAll(bytes: Buffer, heads: boolean[]): Parsed[] {
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
    if (heads[out.length] === true || status === 204 || status === 304) {
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

describe("the byte relay", () => {
  test("swaps the token, relays the answer as bytes, drops hop-by-hop fields and masks the token in the head", async () => {
    const before = relayed;
    let authorization: string | undefined;
    respond = (request, reply) => {
      authorization = request.fields.find(([n]) => n === "authorization")?.[1];
      const body = `{"echo":"Bearer ${REAL}"}`;
      reply.write(
        `HTTP/1.1 200 Whatever\r\ncontent-type: application/json\r\nx-echo: ${REAL}\r\nx-${REAL}: 1\r\nconnection: x-hop\r\nx-hop: 1\r\nkeep-alive: timeout=5\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    };
    const [response] = await exchange([get("/echo")]);
    expect(relayed).toBe(before + 1);
    expect(authorization).toBe(`Bearer ${REAL}`);
    expect(response?.status).toBe(200);
    expect(response?.head.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(response?.body.toString()).toBe(`{"echo":"Bearer ${MASKED}"}`);
    const names = response?.fields.map(([name]) => name) ?? [];
    expect(names).toContain("date");
    expect(names).not.toContain("x-hop");
    expect(names).not.toContain("keep-alive");
    expect(names).not.toContain("connection");
    expect(response?.fields.find(([n]) => n === "x-echo")?.[1]).toBe(MASKED);
    expect(response?.head).not.toContain(REAL);
    expect(logger.lines.join("\n")).not.toContain(REAL);
  });

  test("a chunked answer with the token split across chunks and reads is scrubbed and re-chunked", async () => {
    const before = relayed;
    respond = (_request, reply) => {
      reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
      const text = `a${REAL}b${REAL}`;
      const cut = 5;
      reply.write(`${(cut + 1).toString(16)}\r\na${REAL.slice(0, cut)}\r\n`);
      setTimeout(() => {
        const rest = text.slice(cut + 1);
        reply.write(`${rest.length.toString(16)}\r\n${rest}\r\n0\r\n\r\n`);
      }, 20);
    };
    const [response] = await exchange([get("/split")]);
    expect(relayed).toBe(before + 1);
    expect(response?.fields.find(([n]) => n === "transfer-encoding")?.[1]).toBe("chunked");
    expect(response?.body.toString()).toBe(`a${MASKED}b${MASKED}`);
  });

  test("an answer without framing (close-delimited) is relayed whole, and its connection is not reused", async () => {
    const before = relayed;
    respond = (_request, reply) => {
      reply.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nno length, token ${REAL}`);
      setTimeout(() => reply.end(), 20);
    };
    const accepted = upstream.accepted();
    const [response] = await exchange([get("/unframed")]);
    expect(relayed).toBe(before + 1);
    expect(response?.body.toString()).toBe(`no length, token ${MASKED}`);
    respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [next] = await exchange([get("/after")]);
    expect(next?.status).toBe(200);
    expect(upstream.requests.at(-1)?.connection).toBeGreaterThanOrEqual(accepted);
    expect(upstream.requests.at(-1)?.connection).not.toBe(upstream.requests.at(-2)?.connection);
  });

  test("pipelined agent requests are answered in order over pooled upstream connections", async () => {
    const before = relayed;
    respond = (request, reply) =>
      reply.write(`HTTP/1.1 200 OK\r\ncontent-length: ${request.target.length}\r\n\r\n${request.target}`);
    const accepted = upstream.accepted();
    const responses = await exchange([get("/p/1"), get("/p/2"), get("/p/3"), get("/p/4")]);
    expect(relayed).toBe(before + 4);
    expect(responses.map((r) => r.body.toString())).toEqual(["/p/1", "/p/2", "/p/3", "/p/4"]);
    // One request at a time per agent connection: one upstream connection serves them all.
    expect(upstream.accepted() - accepted).toBeLessThanOrEqual(1);
  });

  test("a pooled connection the upstream closed between requests: the next request still gets its answer", async () => {
    respond = (_request, reply) => {
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      // The upstream closes its idle keep-alive connection right after answering.
      setTimeout(() => reply.end(), 5);
    };
    const closedBefore = upstream.accepted() - upstream.open();
    const [first] = await exchange([get("/c/1")]);
    expect(first?.status).toBe(200);
    await until(() => upstream.accepted() - upstream.open() > closedBefore);
    const before = relayed;
    const [second] = await exchange([get("/c/2")]);
    expect(relayed).toBe(before + 1);
    expect(second?.status).toBe(200);
    expect(second?.body.toString()).toBe("ok");
  });

  test("an agent that disappears mid-body: the upstream connection is closed, not pooled", async () => {
    respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\npartial");
    const { socket, received } = await session();
    socket.write(get("/slow"));
    await until(() => received().includes("partial"));
    const closedBefore = upstream.accepted() - upstream.open();
    socket.destroy();
    await until(() => upstream.accepted() - upstream.open() > closedBefore);
    respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [next] = await exchange([get("/after-abort")]);
    expect(next?.body.toString()).toBe("ok");
  });

  test("a silent upstream → 504 upstream_timeout; an unreadable answer → 502 upstream_unreachable", async () => {
    respond = () => undefined;
    const [silent] = await exchange([get("/silent")]);
    expect(silent?.status).toBe(504);
    expect(JSON.parse(silent?.body.toString() ?? "{}").code).toBe("upstream_timeout");
    for (const bad of [
      "HTTP/1.1 200 OK\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\nok",
      "HTTP/1.1 1000 Big\r\ncontent-length: 0\r\n\r\n",
    ]) {
      respond = (_request, reply) => reply.write(bad);
      const [response] = await exchange([get("/bad")]);
      expect(response?.status).toBe(502);
      expect(JSON.parse(response?.body.toString() ?? "{}").code).toBe("upstream_unreachable");
    }
  });

  test("a compressed answer despite accept-encoding identity is decoded and scrubbed", async () => {
    let accepting: string | undefined;
    respond = (request, reply) => {
      accepting = request.fields.find(([n]) => n === "accept-encoding")?.[1];
      const body = gzipSync(Buffer.from(`compressed ${REAL}`));
      reply.write(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${body.length}\r\n\r\n`);
      reply.write(body);
    };
    const before = relayed;
    const [response] = await exchange([get("/gzip", "accept-encoding: gzip\r\n")]);
    expect(relayed).toBe(before + 1);
    expect(accepting).toBe("identity");
    expect(response?.fields.find(([n]) => n === "content-encoding")).toBeUndefined();
    expect(response?.body.toString()).toBe(`compressed ${MASKED}`);
  });

  test("a HEAD answer ends at its head; a 204 and a 304 too, whatever their fields say", async () => {
    respond = (request, reply) => {
      if (request.method === "HEAD") reply.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
      else reply.write(`HTTP/1.1 ${request.target.endsWith("204") ? 204 : 304} X\r\n\r\n`);
    };
    const head = `HEAD /127.0.0.1:${upstream.port}/h HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${wrapper}\r\n\r\n`;
    const [h, no, not] = await exchange([head, get("/204"), get("/304")]);
    expect(h?.status).toBe(200);
    expect(no?.status).toBe(204);
    expect(not?.status).toBe(304);
  });

  // Last: it revokes the wrapper every other test uses.
  test("a cached wrapper revoked since: the relay does not take it on, the handler refuses it (401)", async () => {
    respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [before] = await exchange([get("/before-revocation")]);
    expect(before?.status).toBe(200);
    const seen = upstream.requests.length;
    const relayedBefore = relayed;
    revocations.add(newRule({ provider: "corp" }, "test", Date.now()), Date.now());
    const [after] = await exchange([get("/after-revocation")]);
    expect(after?.status).toBe(401);
    expect(JSON.parse(after?.body.toString() ?? "{}").code).toBe("invalid_token");
    expect(relayed).toBe(relayedBefore);
    expect(upstream.requests.length).toBe(seen);
  });
});

/**
 * The proxy's byte relay over the real agent port: mTLS agents with raw sockets, a raw TLS upstream
 * that answers with crafted bytes and records which connection each request came on. The first
 * request of each wrapper takes the handler path (it verifies and caches); the relay serves the rest,
 * which every test checks by counting the requests the relay took on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { newRule } from "../../src/core/access/revocation.ts";
import { until } from "../unit/proxy/upstream/harness.ts";
import { MASKED, REAL, type RelayRig, startRelayRig } from "./relay-rig.ts";

let rig: RelayRig;

beforeAll(async () => {
  rig = await startRelayRig();
});

afterAll(async () => {
  await rig.stop();
});

describe("the byte relay", () => {
  test("swaps the token, relays the answer as bytes, drops hop-by-hop fields and masks the token in the head", async () => {
    const before = rig.relayed;
    let authorization: string | undefined;
    rig.respond = (request, reply) => {
      authorization = request.fields.find(([n]) => n === "authorization")?.[1];
      const body = `{"echo":"Bearer ${REAL}"}`;
      reply.write(
        `HTTP/1.1 200 Whatever\r\ncontent-type: application/json\r\nx-echo: ${REAL}\r\nx-${REAL}: 1\r\nconnection: x-hop\r\nx-hop: 1\r\nkeep-alive: timeout=5\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    };
    const [response] = await rig.exchange([rig.get("/echo")]);
    expect(rig.relayed).toBe(before + 1);
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
    expect(rig.logger.lines.join("\n")).not.toContain(REAL);
  });

  test("a chunked answer with the token split across chunks and reads is scrubbed and re-chunked", async () => {
    const before = rig.relayed;
    rig.respond = (_request, reply) => {
      reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
      const text = `a${REAL}b${REAL}`;
      const cut = 5;
      reply.write(`${(cut + 1).toString(16)}\r\na${REAL.slice(0, cut)}\r\n`);
      setTimeout(() => {
        const rest = text.slice(cut + 1);
        reply.write(`${rest.length.toString(16)}\r\n${rest}\r\n0\r\n\r\n`);
      }, 20);
    };
    const [response] = await rig.exchange([rig.get("/split")]);
    expect(rig.relayed).toBe(before + 1);
    expect(response?.fields.find(([n]) => n === "transfer-encoding")?.[1]).toBe("chunked");
    expect(response?.body.toString()).toBe(`a${MASKED}b${MASKED}`);
  });

  test("an answer without framing (close-delimited) is rig.relayed whole, and its connection is not reused", async () => {
    const before = rig.relayed;
    rig.respond = (_request, reply) => {
      reply.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nno length, token ${REAL}`);
      setTimeout(() => reply.end(), 20);
    };
    const accepted = rig.upstream.accepted();
    const [response] = await rig.exchange([rig.get("/unframed")]);
    expect(rig.relayed).toBe(before + 1);
    expect(response?.body.toString()).toBe(`no length, token ${MASKED}`);
    rig.respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [next] = await rig.exchange([rig.get("/after")]);
    expect(next?.status).toBe(200);
    expect(rig.upstream.requests.at(-1)?.connection).toBeGreaterThanOrEqual(accepted);
    expect(rig.upstream.requests.at(-1)?.connection).not.toBe(rig.upstream.requests.at(-2)?.connection);
  });

  test("pipelined agent requests are answered in order over pooled upstream connections", async () => {
    const before = rig.relayed;
    rig.respond = (request, reply) =>
      reply.write(`HTTP/1.1 200 OK\r\ncontent-length: ${request.target.length}\r\n\r\n${request.target}`);
    const accepted = rig.upstream.accepted();
    const responses = await rig.exchange([
      rig.get("/p/1"),
      rig.get("/p/2"),
      rig.get("/p/3"),
      rig.get("/p/4"),
    ]);
    expect(rig.relayed).toBe(before + 4);
    expect(responses.map((r) => r.body.toString())).toEqual(["/p/1", "/p/2", "/p/3", "/p/4"]);
    // One request at a time per agent connection: one upstream connection serves them all.
    expect(rig.upstream.accepted() - accepted).toBeLessThanOrEqual(1);
  });

  test("a pooled connection the upstream closed between requests: the next request still gets its answer", async () => {
    rig.respond = (_request, reply) => {
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      // The upstream closes its idle keep-alive connection right after answering.
      setTimeout(() => reply.end(), 5);
    };
    const closedBefore = rig.upstream.accepted() - rig.upstream.open();
    const [first] = await rig.exchange([rig.get("/c/1")]);
    expect(first?.status).toBe(200);
    await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBefore);
    const before = rig.relayed;
    const closedBeforeSecond = rig.upstream.accepted() - rig.upstream.open();
    const [second] = await rig.exchange([rig.get("/c/2")]);
    expect(rig.relayed).toBe(before + 1);
    expect(second?.status).toBe(200);
    expect(second?.body.toString()).toBe("ok");
    // That connection closes 5 ms after its answer too: waited for here, so that the next test
    // cannot take it from the pool just before it closes (its FIN would cut that test's answer).
    await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBeforeSecond);
  });

  test("an agent that disappears mid-body: the upstream connection is closed, not pooled", async () => {
    rig.respond = (_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\npartial");
    const { socket, received } = await rig.session();
    socket.write(rig.get("/slow"));
    await until(() => received().includes("partial"));
    const closedBefore = rig.upstream.accepted() - rig.upstream.open();
    socket.destroy();
    await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBefore);
    rig.respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [next] = await rig.exchange([rig.get("/after-abort")]);
    expect(next?.body.toString()).toBe("ok");
  });

  test("a silent upstream → 504 upstream_timeout; an unreadable answer → 502 upstream_unreachable", async () => {
    rig.respond = () => undefined;
    const [silent] = await rig.exchange([rig.get("/silent")]);
    expect(silent?.status).toBe(504);
    expect(JSON.parse(silent?.body.toString() ?? "{}").code).toBe("upstream_timeout");
    for (const bad of [
      "HTTP/1.1 200 OK\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\nok",
      "HTTP/1.1 1000 Big\r\ncontent-length: 0\r\n\r\n",
    ]) {
      rig.respond = (_request, reply) => reply.write(bad);
      const [response] = await rig.exchange([rig.get("/bad")]);
      expect(response?.status).toBe(502);
      expect(JSON.parse(response?.body.toString() ?? "{}").code).toBe("upstream_unreachable");
    }
  });

  test("a compressed answer despite accept-encoding identity is decoded and scrubbed", async () => {
    let accepting: string | undefined;
    rig.respond = (request, reply) => {
      accepting = request.fields.find(([n]) => n === "accept-encoding")?.[1];
      const body = gzipSync(Buffer.from(`compressed ${REAL}`));
      reply.write(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${body.length}\r\n\r\n`);
      reply.write(body);
    };
    const before = rig.relayed;
    const [response] = await rig.exchange([rig.get("/gzip", "accept-encoding: gzip\r\n")]);
    expect(rig.relayed).toBe(before + 1);
    expect(accepting).toBe("identity");
    expect(response?.fields.find(([n]) => n === "content-encoding")).toBeUndefined();
    expect(response?.body.toString()).toBe(`compressed ${MASKED}`);
  });

  test("a HEAD answer ends at its head; a 204 and a 304 too, whatever their fields say", async () => {
    rig.respond = (request, reply) => {
      if (request.method === "HEAD") reply.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
      else reply.write(`HTTP/1.1 ${request.target.endsWith("204") ? 204 : 304} X\r\n\r\n`);
    };
    const head = `HEAD /127.0.0.1:${rig.upstream.port}/h HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\n\r\n`;
    const [h, no, not] = await rig.exchange([head, rig.get("/204"), rig.get("/304")]);
    expect(h?.status).toBe(200);
    expect(no?.status).toBe(204);
    expect(not?.status).toBe(304);
  });

  // Last: it revokes the wrapper every other test uses.
  test("a cached wrapper revoked since: the relay does not take it on, the handler refuses it (401)", async () => {
    rig.respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const [before] = await rig.exchange([rig.get("/before-revocation")]);
    expect(before?.status).toBe(200);
    const seen = rig.upstream.requests.length;
    const relayedBefore = rig.relayed;
    rig.revocations.add(newRule({ provider: "corp" }, "test", Date.now()), Date.now());
    const [after] = await rig.exchange([rig.get("/after-revocation")]);
    expect(after?.status).toBe(401);
    expect(JSON.parse(after?.body.toString() ?? "{}").code).toBe("invalid_token");
    expect(rig.relayed).toBe(relayedBefore);
    expect(rig.upstream.requests.length).toBe(seen);
  });
});

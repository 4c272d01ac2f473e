/**
 * Request bodies on the proxy's byte relay, over the real agent port (mTLS, raw sockets) to a raw TLS
 * upstream that records what it received: Content-Length and chunked uploads re-framed for the
 * upstream, `Expect: 100-continue`, an upstream that answers before reading the body, an agent that
 * disappears mid-body, bodies that break their framing, a POST never sent twice, and a chunked
 * upload of many MB that streams with bounded memory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Reply, Responder } from "../unit/proxy/upstream/harness.ts";
import { until } from "../unit/proxy/upstream/harness.ts";
import { parseAll, REAL, type RelayRig, startRelayRig } from "./relay-rig.ts";
import { type SlowUpstream, startSlowUpstream } from "./slow-upstream.ts";

let rig: RelayRig;
let slow: SlowUpstream;
/** Answers a request from its head, before its body (true: answered; the rest is never read). */
let early: ((request: Parameters<Responder>[0], reply: Reply) => boolean) | undefined;

/** Large enough that what loopback socket buffers hold (a few MB per hop) is well below it. */
const SIZE = 32 * 1024 * 1024;
const ok: Responder = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
const echo: Responder = (request, reply) => {
  reply.write(`HTTP/1.1 201 Created\r\ncontent-length: ${request.body.length}\r\n\r\n`);
  reply.write(request.body);
};

beforeAll(async () => {
  slow = await startSlowUpstream();
  rig = await startRelayRig({
    hooks: { onHead: (request, reply) => early?.(request, reply) ?? false },
    upstreams: [`127.0.0.1:${slow.port}`],
  });
});

afterAll(async () => {
  await rig.stop();
  slow.stop();
});

function request(method: string, path: string, fields: string, body = "", port = rig.upstream.port): string {
  return `${method} /127.0.0.1:${port}${path} HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\n${fields}\r\n${body}`;
}

const field = (fields: Array<[string, string]> | undefined, name: string) =>
  fields?.find(([n]) => n.toLowerCase() === name)?.[1];
const closedUpstreams = () => rig.upstream.accepted() - rig.upstream.open();
const seen = (path: string) => rig.upstream.requests.filter((r) => r.target.endsWith(path));

describe("request bodies on the byte relay", () => {
  test("a Content-Length body is streamed upstream with that length, the token swapped", async () => {
    rig.respond = echo;
    const before = rig.relayed;
    const payload = "0123456789".repeat(20_000);
    const [response] = await rig.exchange([
      request(
        "POST",
        "/length",
        `content-type: text/plain\r\ncontent-length: ${payload.length}\r\n`,
        payload,
      ),
    ]);
    expect(rig.relayed).toBe(before + 1);
    expect(response?.status).toBe(201);
    expect(response?.body.toString()).toBe(payload);
    const [received] = seen("/length");
    expect(received?.framing).toBe("length");
    expect(field(received?.fields, "content-length")).toBe(String(payload.length));
    expect(field(received?.fields, "authorization")).toBe(`Bearer ${REAL}`);
    expect(received?.body.toString()).toBe(payload);
    const line = rig.logger.lines.find((l) => l.includes('"/length"'));
    expect(line).toContain('"status":201');
  });

  test("a chunked body arriving in pieces is re-chunked for the upstream as it arrives", async () => {
    rig.respond = echo;
    const before = rig.relayed;
    const { socket, received } = await rig.session();
    socket.write(request("PUT", "/chunked", "transfer-encoding: chunked\r\n", "5\r\nhello\r\n"));
    // The first piece reaches the upstream before the agent sent the rest.
    await until(() => rig.upstream.saw("5\r\nhello\r\n"));
    expect(seen("/chunked")).toHaveLength(0);
    socket.write("6;ext=1\r\n world\r\n0\r\nx-trailer: dropped\r\n\r\n");
    await until(() => parseAll(received()).length >= 1);
    socket.destroy();
    const [response] = parseAll(received());
    expect(rig.relayed).toBe(before + 1);
    expect(response?.status).toBe(201);
    expect(response?.body.toString()).toBe("hello world");
    const [upload] = seen("/chunked");
    expect(upload?.framing).toBe("chunked");
    expect(field(upload?.fields, "x-trailer")).toBeUndefined();
  });

  test("Expect: 100-continue: 100 once the upstream is ready, then the answer; expect is not forwarded", async () => {
    rig.respond = echo;
    const { socket, received } = await rig.session();
    socket.write(request("PUT", "/continue", "expect: 100-continue\r\ncontent-length: 5\r\n"));
    await until(() => received().includes("HTTP/1.1 100 Continue\r\n\r\n"));
    expect(seen("/continue")).toHaveLength(0);
    socket.write("hello");
    await until(() => parseAll(received()).length >= 2);
    socket.destroy();
    const [interim, final] = parseAll(received());
    expect(interim?.status).toBe(100);
    expect(final?.status).toBe(201);
    const [upload] = seen("/continue");
    expect(upload?.body.toString()).toBe("hello");
    expect(field(upload?.fields, "expect")).toBeUndefined();
  });

  test("a GET with a body is not relayed: the handler refuses it (400 invalid_request), nothing upstream", async () => {
    const before = rig.relayed;
    const [response] = await rig.exchange([request("GET", "/get-body", "content-length: 3\r\n", "abc")]);
    expect(rig.relayed).toBe(before);
    expect(response?.status).toBe(400);
    expect(JSON.parse(response?.body.toString() ?? "{}").code).toBe("invalid_request");
    expect(seen("/get-body")).toHaveLength(0);
  });

  test("an upstream that answers before reading the body: the answer reaches the agent, both connections close", async () => {
    early = (head, reply) => {
      if (!head.target.endsWith("/early")) return false;
      reply.write("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\r\ntoo big!");
      return true;
    };
    const closedBefore = closedUpstreams();
    const { socket, received, closed } = await rig.session();
    // What the agent sends of its body looks like a request: it must never be read as one.
    const smuggled = request("GET", "/smuggled", "");
    socket.write(request("POST", "/early", "content-length: 1000000\r\n", smuggled));
    await closed;
    early = undefined;
    const answers = parseAll(received());
    expect(answers).toHaveLength(1);
    expect(answers[0]?.status).toBe(413);
    expect(answers[0]?.body.toString()).toBe("too big!");
    expect(field(answers[0]?.fields, "connection")).toBe("close");
    await until(() => closedUpstreams() > closedBefore);
    expect(seen("/smuggled")).toHaveLength(0);
    expect(rig.logger.lines.find((l) => l.includes('"/early"'))).toContain('"status":413');
  });

  test("an agent that disappears mid-body: the upstream connection is destroyed, nothing is logged", async () => {
    rig.respond = ok;
    const closedBefore = closedUpstreams();
    const bytesBefore = rig.upstream.bytes();
    const { socket } = await rig.session();
    socket.write(request("PUT", "/vanish", "content-length: 1000000\r\n", "b".repeat(50_000)));
    await until(() => rig.upstream.bytes() >= bytesBefore + 50_000);
    socket.destroy();
    await until(() => closedUpstreams() > closedBefore);
    expect(seen("/vanish")).toHaveLength(0);
    expect(rig.logger.lines.some((l) => l.includes('"/vanish"'))).toBe(false);
    // The pool holds no half-used connection: the next request is answered normally.
    const [next] = await rig.exchange([request("POST", "/after-vanish", "content-length: 2\r\n", "hi")]);
    expect(next?.status).toBe(200);
  });

  test("a body shorter than its Content-Length, then the agent's FIN: no complete request upstream", async () => {
    rig.respond = ok;
    const closedBefore = closedUpstreams();
    const { socket, closed } = await rig.session();
    socket.write(request("POST", "/short", "content-length: 100\r\n", "only ten.."));
    await until(() => rig.upstream.saw("only ten.."));
    socket.end();
    await closed;
    await until(() => closedUpstreams() > closedBefore);
    expect(seen("/short")).toHaveLength(0);
  });

  test("an agent that stalls mid-body: 504 upstream_timeout once the exchange is silent, both connections closed", async () => {
    rig.respond = ok;
    const closedBefore = closedUpstreams();
    const { socket, received, closed } = await rig.session();
    socket.write(request("PUT", "/stall", "content-length: 1000\r\n", "only a part"));
    await closed;
    const [answer] = parseAll(received());
    expect(answer?.status).toBe(504);
    expect(JSON.parse(answer?.body.toString() ?? "{}").code).toBe("upstream_timeout");
    await until(() => closedUpstreams() > closedBefore);
    expect(seen("/stall")).toHaveLength(0);
  }, 15_000);

  test("a body longer than its Content-Length: the upstream gets exactly the length, the rest is a next request", async () => {
    rig.respond = echo;
    const { socket, received, closed } = await rig.session();
    socket.write(request("POST", "/long", "content-length: 5\r\n", "helloNOT A REQUEST\r\n\r\n"));
    await closed;
    const answers = parseAll(received());
    expect(answers.map((a) => a.status)).toEqual([201, 400]);
    expect(answers[0]?.body.toString()).toBe("hello");
    const [upload] = seen("/long");
    expect(upload?.body.toString()).toBe("hello");
    expect(field(upload?.fields, "content-length")).toBe("5");
  });

  test("broken chunked framing: 400 invalid_request, the upstream never receives a complete request", async () => {
    rig.respond = ok;
    const closedBefore = closedUpstreams();
    const { socket, received, closed } = await rig.session();
    socket.write(request("POST", "/bad-chunks", "transfer-encoding: chunked\r\n", "5\r\nhello\r\nzz\r\n"));
    await closed;
    const [answer] = parseAll(received());
    expect(answer?.status).toBe(400);
    expect(JSON.parse(answer?.body.toString() ?? "{}").code).toBe("invalid_request");
    await until(() => closedUpstreams() > closedBefore);
    expect(seen("/bad-chunks")).toHaveLength(0);
  });

  test("a POST is never sent again on a new connection once its bytes were written (RFC 9110 §9.2.2)", async () => {
    rig.respond = ok;
    // A GET leaves a connection in the pool; the POST reuses it and the upstream drops it unanswered.
    await rig.exchange([rig.get("/pool-me")]);
    const pooled = rig.upstream.requests.at(-1)?.connection;
    const heads: number[] = [];
    early = (head, reply) => {
      if (!head.target.endsWith("/no-retry")) return false;
      heads.push(head.connection);
      reply.reset();
      return true;
    };
    const [response] = await rig.exchange([request("POST", "/no-retry", "content-length: 5\r\n", "hello")]);
    early = undefined;
    expect(response?.status).toBe(502);
    expect(JSON.parse(response?.body.toString() ?? "{}").code).toBe("upstream_unreachable");
    expect(heads).toEqual([pooled as number]);
  });

  test("a chunked upload of 32 MB streams through with bounded memory, intact", async () => {
    // Its own rig with a patient upstream timeout: 32 MB through a slow reader must not read as a
    // silent upstream when other suites load the machine (the shared rig's is 1 s).
    const patient = await startRelayRig({ upstreams: [`127.0.0.1:${slow.port}`], upstreamTimeout: 10 });
    try {
      const result = await slow.upload(patient, SIZE);
      expect(patient.relayed).toBe(1);
      expect(result.status).toBe(200);
      expect(result.received).toBe(SIZE);
      expect(result.corrupt).toBe(false);
      // A relay that buffered the upload would hold most of it while the upstream reads slowly.
      expect(result.memoryGrowth).toBeLessThan(12 * 1024 * 1024);
    } finally {
      await patient.stop();
    }
  }, 60_000);
});

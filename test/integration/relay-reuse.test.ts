/**
 * When the byte relay reuses an upstream connection, over the real agent port to a raw TLS upstream:
 * only when its exchange ended exactly where its framing said (RFC 9112 §9.3), and a request is sent
 * again on a new connection only when that cannot do harm (RFC 9112 §9.3.1, RFC 9110 §9.2.2).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Responder, until } from "../unit/proxy/upstream/harness.ts";
import { type Parsed, type RelayRig, startRelayRig } from "./relay-rig.ts";

let rig: RelayRig;

beforeAll(async () => {
  rig = await startRelayRig();
});

afterAll(async () => {
  await rig.stop();
});

const ok: Responder = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");

function answer(bytes: string): void {
  rig.respond = (_request, reply) => reply.write(bytes);
}

async function get(path = "/", method = "GET"): Promise<Parsed | undefined> {
  const request = rig.get(path).replace(/^GET /, `${method} `);
  const [response] = await rig.exchange([request]);
  return response;
}

const codeOf = (response: Parsed | undefined) => JSON.parse(response?.body.toString() ?? "{}").code;
/** The upstream connection each request with this path came on. */
const connectionsOf = (path: string) =>
  rig.upstream.requests.filter((r) => r.target.endsWith(path)).map((r) => r.connection);

describe("a connection is reused only when its exchange ended exactly", () => {
  test("Content-Length, chunked, HEAD and 204 answers, and requests with bodies: one connection", async () => {
    let n = 0;
    rig.respond = (request, reply) => {
      n += 1;
      if (n === 1) reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
      else if (n === 2) reply.write("HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n");
      else if (n === 3) reply.write("HTTP/1.1 204 No Content\r\n\r\n");
      else ok(request, reply);
    };
    const upload = (method: string, framing: string, body: string) =>
      `${method} /127.0.0.1:${rig.upstream.port}/reuse HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\n${framing}\r\n${body}`;
    await get("/reuse");
    await get("/reuse", "HEAD");
    await get("/reuse");
    await rig.exchange([upload("POST", "transfer-encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n")]);
    await rig.exchange([upload("PUT", "content-length: 3\r\n", "abc")]);
    await get("/reuse");
    const used = connectionsOf("/reuse");
    expect(used).toHaveLength(6);
    expect(new Set(used).size).toBe(1);
  });

  const cases: Array<[string, string, "end"?]> = [
    ["Connection: close", "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"],
    ["an HTTP/1.0 answer", "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    [
      "bytes after the end of the body",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
    ],
    [
      "bytes after a chunked body",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX",
    ],
  ];
  for (const [name, bytes] of cases) {
    test(`not after ${name}`, async () => {
      answer(bytes);
      const path = `/once-${name.length}`;
      expect((await get(path))?.body.toString()).toBe("ok");
      rig.respond = ok;
      expect((await get(path))?.body.toString()).toBe("ok");
      const [first, second] = connectionsOf(path);
      expect(second).not.toBe(first);
    });
  }

  test("bytes on an idle pooled connection: it is dropped, the next request gets a new one", async () => {
    rig.respond = (request, reply) => {
      ok(request, reply);
      setTimeout(() => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil"), 5);
    };
    const closedBefore = rig.upstream.accepted() - rig.upstream.open();
    expect((await get("/idle-bytes"))?.body.toString()).toBe("ok");
    await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBefore);
    rig.respond = ok;
    expect((await get("/idle-bytes"))?.body.toString()).toBe("ok");
    const [first, second] = connectionsOf("/idle-bytes");
    expect(second).not.toBe(first);
  });
});

describe("a pooled connection closed just as it is reused (RFC 9112 §9.3.1)", () => {
  /** Answers the first request on each connection; closes the connection at the second, unanswered. */
  const closesOnSecond: Responder = (request, reply) => {
    const earlier = rig.upstream.requests.filter((r) => r.connection === request.connection).length;
    if (earlier === 1) ok(request, reply);
    else reply.end();
  };

  test("a bodiless GET is retried once on a new connection", async () => {
    rig.respond = ok;
    await get("/pool-for-get");
    const pooled = connectionsOf("/pool-for-get").at(-1);
    rig.respond = closesOnSecond;
    const response = await get("/retry-get");
    expect(response?.status).toBe(200);
    const used = connectionsOf("/retry-get");
    expect(used).toHaveLength(2);
    expect(used[0]).toBe(pooled as number);
    expect(used[1]).not.toBe(pooled);
  });

  test("a PUT whose body was written is never sent again: 502", async () => {
    rig.respond = ok;
    await get("/pool-for-put");
    const pooled = connectionsOf("/pool-for-put").at(-1);
    rig.respond = closesOnSecond;
    const put = `PUT /127.0.0.1:${rig.upstream.port}/put-once HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\ncontent-length: 4\r\n\r\nonce`;
    const [response] = await rig.exchange([put]);
    expect(response?.status).toBe(502);
    expect(codeOf(response)).toBe("upstream_unreachable");
    expect(connectionsOf("/put-once")).toEqual([pooled as number]);
  });

  test("a bodiless POST is not retried", async () => {
    rig.respond = ok;
    await get("/pool-for-post");
    const pooled = connectionsOf("/pool-for-post").at(-1);
    rig.respond = closesOnSecond;
    const response = await get("/post-once", "POST");
    expect(response?.status).toBe(502);
    expect(connectionsOf("/post-once")).toEqual([pooled as number]);
  });

  test("a retried request that meets a close again is not retried again", async () => {
    rig.respond = ok;
    await get("/pool-for-twice");
    rig.respond = (_request, reply) => reply.end();
    const accepted = rig.upstream.accepted();
    const response = await get("/closes-always");
    expect(response?.status).toBe(502);
    expect(connectionsOf("/closes-always").length).toBeLessThanOrEqual(2);
    expect(rig.upstream.accepted() - accepted).toBeLessThanOrEqual(1);
  });
});

/**
 * The buffered path: a body that arrives complete with its head is handed over as one buffer, one
 * that does not is streamed; both must read the same, and the connection must be pooled exactly
 * when the exchange ended where the framing said.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createUpstreamClient } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamProtocolError } from "../../../../src/proxy/upstream/errors.ts";
import { init, type Reply, type Responder, readAll, startRawServer } from "./harness.ts";

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setUp(respond: Responder) {
  const server = startRawServer(respond);
  const client = createUpstreamClient();
  cleanups.push(
    () => client.close(),
    () => server.stop(),
  );
  const url = `http://127.0.0.1:${server.port}/`;
  return { server, client, url };
}

const connections = (requests: Array<{ connection: number }>) => requests.map((r) => r.connection);

describe("a body complete in the head's read", () => {
  test("Content-Length: read whole, the connection is reused for the next request", async () => {
    const body = "b".repeat(1000);
    const { server, client, url } = setUp((_request, reply) =>
      reply.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-a: 1\r\n\r\n${body}`),
    );
    for (let i = 0; i < 3; i++) {
      const response = await client.fetch(url, init());
      expect([response.status, response.headers.get("x-a")]).toEqual([200, "1"]);
      expect((await readAll(response)).toString()).toBe(body);
    }
    expect(connections(server.requests)).toEqual([0, 0, 0]);
  });

  test("chunked: decoded whole, the connection is reused", async () => {
    const { server, client, url } = setUp((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
    );
    for (let i = 0; i < 2; i++)
      expect((await readAll(await client.fetch(url, init()))).toString()).toBe("abcde");
    expect(connections(server.requests)).toEqual([0, 0]);
  });

  test("an empty chunked body is an empty body, not a missing one", async () => {
    const { client, url } = setUp((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"),
    );
    const response = await client.fetch(url, init());
    expect(response.body).not.toBeNull();
    expect((await readAll(response)).length).toBe(0);
  });

  test("bytes after the body's end: the body is delivered, the connection is not reused", async () => {
    const { server, client, url } = setUp((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"),
    );
    expect((await readAll(await client.fetch(url, init()))).toString()).toBe("ok");
    expect((await readAll(await client.fetch(url, init()))).toString()).toBe("ok");
    expect(connections(server.requests)).toEqual([0, 1]);
  });

  test("a malformed chunk in the head's read errors the body, not the response", async () => {
    const { client, url } = setUp((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"),
    );
    const response = await client.fetch(url, init());
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toBeInstanceOf(UpstreamProtocolError);
  });
});

describe("a body split across reads", () => {
  test("streamed: the first part, then the rest; the connection is reused after it", async () => {
    let pending: Reply | undefined;
    const { server, client, url } = setUp((_request, reply) => {
      pending = reply;
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
    });
    for (let i = 0; i < 2; i++) {
      pending = undefined;
      // The Response exists before the rest is even sent: it cannot have been buffered whole.
      const response = await client.fetch(url, init());
      const reply = pending as Reply | undefined;
      if (reply === undefined) throw new Error("no request reached the server");
      reply.write("world");
      expect((await readAll(response)).toString()).toBe("helloworld");
    }
    expect(connections(server.requests)).toEqual([0, 0]);
  });
});

describe("the request head", () => {
  test("obs-text in a field value is sent as its Latin-1 byte, not UTF-8", async () => {
    const { server, client, url } = setUp((_request, reply) =>
      reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    );
    const headers = new Headers({ "x-name": "caf\u00e9" });
    expect((await readAll(await client.fetch(url, init({ headers })))).toString()).toBe("ok");
    expect(server.requests[0]?.fields).toContainEqual(["x-name", "caf\u00e9"]);
  });
});

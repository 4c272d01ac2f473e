import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createUpstreamClient, type UpstreamClientOptions } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamClosedError, UpstreamConnectError } from "../../../../src/proxy/upstream/errors.ts";
import { type TestPki, testPki } from "../../../helpers/pki.ts";
import {
  init,
  ok,
  type RawServer,
  type Responder,
  readAll,
  startRawServer,
  streamOf,
  until,
} from "./harness.ts";

let pki: TestPki;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  pki = await testPki();
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setUp(respond: Responder, options: UpstreamClientOptions = {}, tls = false) {
  const server = startRawServer(respond, tls ? pki.server : undefined);
  const client = createUpstreamClient({ ca: [pki.ca.certPem], ...options });
  cleanups.push(
    () => client.close(),
    () => server.stop(),
  );
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  const send = async (path = "/", overrides: Parameters<typeof init>[0] = {}) =>
    (await readAll(await client.fetch(`${origin}${path}`, init(overrides)))).toString();
  return { server, client, origin, send };
}

/** Which connection each request arrived on. */
const connections = (server: RawServer) => server.requests.map((request) => request.connection);

describe("connections are reused when the exchange ended exactly", () => {
  for (const tls of [false, true]) {
    test(`Content-Length responses, ${tls ? "TLS" : "TCP"}`, async () => {
      const { server, send } = setUp(ok, {}, tls);
      for (let i = 0; i < 3; i++) expect(await send()).toBe("ok");
      expect(connections(server)).toEqual([0, 0, 0]);
    });
  }

  test("chunked responses, HEAD and 204, and requests with bodies", async () => {
    let n = 0;
    const { server, send } = setUp((_request, reply) => {
      n += 1;
      if (n === 1) reply.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
      else if (n === 2) reply.write("HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n");
      else if (n === 3) reply.write("HTTP/1.1 204 No Content\r\n\r\n");
      else ok(_request, reply);
    });
    expect(await send()).toBe("ok");
    expect(await send("/", { method: "HEAD" })).toBe("");
    expect(await send()).toBe("");
    expect(await send("/", { method: "POST", body: streamOf("abc") })).toBe("ok");
    expect(
      await send("/", {
        method: "PUT",
        headers: new Headers({ "content-length": "3" }),
        body: streamOf("abc"),
      }),
    ).toBe("ok");
    expect(connections(server)).toEqual([0, 0, 0, 0, 0]);
  });

  test("origins are kept apart: localhost and 127.0.0.1 do not share connections", async () => {
    const { server, client } = setUp(ok, {}, true);
    for (const host of ["127.0.0.1", "localhost", "127.0.0.1", "localhost"])
      await readAll(await client.fetch(`https://${host}:${server.port}/`, init()));
    expect(server.accepted()).toBe(2);
  });
});

describe("connections are not reused otherwise", () => {
  const cases: Array<[string, string, "end"?]> = [
    ["Connection: close", "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"],
    ["an HTTP/1.0 response", "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    [
      "bytes after the end of the body",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
    ],
    [
      "bytes after a chunked body",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX",
    ],
    ["a close-delimited body", "HTTP/1.1 200 OK\r\n\r\nok", "end"],
  ];
  for (const [name, bytes, then] of cases) {
    test(name, async () => {
      const { server, send } = setUp((_request, reply) => {
        reply.write(bytes);
        if (then === "end") reply.end();
      });
      expect(await send()).toBe("ok");
      expect(await send()).toBe("ok");
      expect(connections(server)).toEqual([0, 1]);
      await until(() => server.open() === 0);
    });
  }

  test("a body the consumer cancelled: the connection is closed, not pooled", async () => {
    const { server, client, origin, send } = setUp((_request, reply) =>
      reply.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${"x".repeat(1000)}`),
    );
    const response = await client.fetch(`${origin}/`, init());
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => server.open() === 0);
    server.requests.length = 0;
    const next = send();
    await until(() => server.requests.length === 1);
    expect(server.requests[0]?.connection).toBe(1);
    void next.catch(() => undefined);
  });

  test("an answer before the request body was sent: the upload stops and the connection closes", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      cancel: () => {
        cancelled = true;
      },
    });
    let accepted = 0;
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: () => {
          accepted += 1;
        },
        data: (socket) => void socket.write("HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n\r\n"),
      },
    });
    const client = createUpstreamClient();
    cleanups.push(
      () => client.close(),
      () => listener.stop(true),
    );
    const response = await client.fetch(`http://127.0.0.1:${listener.port}/`, init({ method: "POST", body }));
    expect(response.status).toBe(413);
    await until(() => cancelled);
    await client.fetch(`http://127.0.0.1:${listener.port}/`, init());
    expect(accepted).toBe(2);
  });
});

describe("the idle pool", () => {
  test("idle connections are closed after idleTimeoutMs", async () => {
    const { server, send } = setUp(ok, { idleTimeoutMs: 20 });
    await send();
    await until(() => server.open() === 0);
    await send();
    expect(connections(server)).toEqual([0, 1]);
  });

  test("a connection the upstream closes while idle is dropped from the pool", async () => {
    const { server, send } = setUp((request, reply) => {
      ok(request, reply);
      reply.end();
    });
    await send();
    await until(() => server.open() === 0);
    expect(await send()).toBe("ok");
    expect(connections(server)).toEqual([0, 1]);
  });

  test("at most maxIdlePerOrigin idle connections are kept", async () => {
    const waiting: Array<() => void> = [];
    const { server, send } = setUp(
      (request, reply) => {
        waiting.push(() => ok(request, reply));
        if (waiting.length === 4) for (const answer of waiting) answer();
      },
      { maxIdlePerOrigin: 2 },
    );
    await Promise.all([send(), send(), send(), send()]);
    expect(server.accepted()).toBe(4);
    await until(() => server.open() === 2);
  });

  test("close() closes idle connections and refuses later requests", async () => {
    const { server, client, origin, send } = setUp(ok);
    await send();
    client.close();
    await until(() => server.open() === 0);
    await expect(client.fetch(`${origin}/`, init())).rejects.toBeInstanceOf(UpstreamConnectError);
  });
});

describe("a pooled connection closed just as it is reused", () => {
  /** Answers the first request on each connection; closes the connection at the second, unanswered. */
  const closesOnSecond: Responder = (request, reply) => {
    const earlier = server.requests.filter((r) => r.connection === request.connection).length;
    if (earlier === 1) ok(request, reply);
    else reply.end();
  };
  let server: RawServer;

  test("a bodiless GET is retried once on a new connection", async () => {
    const setup = setUp(closesOnSecond);
    server = setup.server;
    expect(await setup.send()).toBe("ok");
    expect(await setup.send()).toBe("ok");
    expect(connections(server)).toEqual([0, 0, 1]);
  });

  test("a request with a body is never replayed", async () => {
    const setup = setUp(closesOnSecond);
    server = setup.server;
    await setup.send();
    await expect(setup.send("/", { method: "PUT", body: streamOf("once") })).rejects.toBeInstanceOf(
      UpstreamClosedError,
    );
    expect(connections(server)).toEqual([0, 0]);
  });

  test("a bodiless non-idempotent POST is not retried (RFC 9112 §9.3.1)", async () => {
    const setup = setUp(closesOnSecond);
    server = setup.server;
    await setup.send();
    await expect(setup.send("/", { method: "POST" })).rejects.toBeInstanceOf(UpstreamClosedError);
    expect(connections(server)).toEqual([0, 0]);
  });

  test("a new connection closed before responding is not retried", async () => {
    const setup = setUp((_request, reply) => reply.end());
    server = setup.server;
    await expect(setup.send()).rejects.toBeInstanceOf(UpstreamClosedError);
    expect(server.accepted()).toBe(1);
  });
});

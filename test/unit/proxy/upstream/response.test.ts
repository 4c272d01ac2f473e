import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { createUpstreamClient, type UpstreamClient } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamClosedError, UpstreamProtocolError } from "../../../../src/proxy/upstream/errors.ts";
import { testPki } from "../../../helpers/pki.ts";
import { init, ok, type RawServer, type Responder, readAll, startRawServer, until } from "./harness.ts";

/** Each test scripts the answer; the server records what arrived. */
let respond: Responder = ok;
let plain: RawServer;
let secure: RawServer;
let client: UpstreamClient;

beforeAll(async () => {
  const pki = await testPki();
  plain = startRawServer((request, reply) => respond(request, reply));
  secure = startRawServer((request, reply) => respond(request, reply), pki.server);
  client = createUpstreamClient({ ca: [pki.ca.certPem], maxHeadBytes: 4096 });
});

afterAll(() => {
  client.close();
  plain.stop();
  secure.stop();
});

/** Answers every request with `bytes` (latin1). */
function answer(bytes: string | Uint8Array, then?: "end" | "reset"): void {
  respond = (_request, reply) => {
    reply.write(bytes);
    if (then === "end") reply.end();
    if (then === "reset") reply.reset();
  };
}

const get = (path = "/", method = "GET") =>
  client.fetch(`http://127.0.0.1:${plain.port}${path}`, init({ method }));
const getSecure = (path = "/") => client.fetch(`https://127.0.0.1:${secure.port}${path}`, init());

/** The error a body stream fails with (undefined if it ends normally). */
async function bodyError(response: Response): Promise<unknown> {
  return readAll(response).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("responses passed through as received", () => {
  test("status, reason phrase, every field (repeated Set-Cookie kept apart), Content-Length, body", async () => {
    answer(
      "HTTP/1.1 201 Created\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx-obs: caf\xe9\r\ncontent-length: 5\r\n\r\nhello",
    );
    const response = await get();
    expect(response.status).toBe(201);
    expect(response.statusText).toBe("Created");
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(response.headers.get("x-obs")).toBe("caf\xe9");
    expect(response.headers.get("content-length")).toBe("5");
    expect((await readAll(response)).toString()).toBe("hello");
  });

  test("a redirect is returned, never followed", async () => {
    const before = plain.requests.length;
    answer("HTTP/1.1 302 Found\r\nlocation: http://evil.example/steal\r\ncontent-length: 0\r\n\r\n");
    const response = await get("/r");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("http://evil.example/steal");
    expect(plain.requests.length).toBe(before + 1);
  });

  test("Content-Encoding bytes are not decoded", async () => {
    const gzipped = gzipSync("compressed text");
    answer(
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${gzipped.length}\r\n\r\n`),
        gzipped,
      ]),
    );
    const response = await get();
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(await readAll(response)).toEqual(gzipped);
  });

  test("interim 100 and 103 responses are skipped; only the final head is returned", async () => {
    answer(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    );
    const response = await get();
    expect(response.status).toBe(200);
    expect(response.headers.get("link")).toBeNull();
    expect((await readAll(response)).toString()).toBe("ok");
  });

  test("a status line without reason phrase", async () => {
    answer("HTTP/1.1 200\r\ncontent-length: 0\r\n\r\n");
    const response = await get();
    expect([response.status, response.statusText]).toEqual([200, ""]);
  });

  test("HEAD, 204 and 304 have no body whatever their fields say", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
    const head = await get("/", "HEAD");
    expect([head.body, head.headers.get("content-length")]).toEqual([null, "10"]);
    answer("HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n");
    expect((await get()).body).toBeNull();
    answer("HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n");
    expect((await get()).body).toBeNull();
  });

  test("a body delimited by the connection's close", async () => {
    answer("HTTP/1.1 200 OK\r\n\r\nuntil the end", "end");
    expect((await readAll(await get())).toString()).toBe("until the end");
  });

  test("chunked, with extensions and trailers (dropped), over TLS", async () => {
    answer(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n",
    );
    const response = await getSecure();
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect((await readAll(response)).toString()).toBe("hello world");
  });

  test("a response written one byte at a time, over TLS", async () => {
    const text =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
    respond = (_request, reply) => {
      void (async () => {
        for (const byte of text) {
          reply.write(byte);
          await Bun.sleep(1);
        }
      })();
    };
    expect((await readAll(await getSecure())).toString()).toBe("abcde");
  });
});

describe("malformed heads are refused with UpstreamProtocolError (no waiting for a close)", () => {
  const heads: Array<[string, string]> = [
    ["not HTTP", "hello there\r\n\r\n"],
    ["HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"],
    ["two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["status above 599", "HTTP/1.1 600 Odd\r\ncontent-length: 0\r\n\r\n"],
    ["unrequested 101", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n"],
    ["bare LF line ends", "HTTP/1.1 200 OK\ncontent-length: 0\n\n"],
    ["a bare LF inside the head", "HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\ncontent-length: 0\r\n\r\n"],
    ["a bare CR in a value", "HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\ncontent-length: 0\r\n\r\n"],
    ["a NUL in a value", "HTTP/1.1 200 OK\r\nx-a: 1\x00\r\ncontent-length: 0\r\n\r\n"],
    ["space before the colon", "HTTP/1.1 200 OK\r\ncontent-length : 0\r\n\r\n"],
    ["a field without colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
    [
      "Content-Length with Transfer-Encoding",
      "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
    ],
    ["a coding other than chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"],
    ["chunked applied twice", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, chunked\r\n\r\n"],
    ["chunked not last", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n"],
    ["an empty Transfer-Encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding: \r\ncontent-length: 0\r\n\r\n"],
    ["Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"],
    ["conflicting Content-Length in one field", "HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\n"],
    [
      "conflicting Content-Length fields",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
    ],
    ["a negative Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"],
    ["a non-numeric Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 0x10\r\n\r\n"],
    ["more than 256 fields", `HTTP/1.1 200 OK\r\n${"x: y\r\n".repeat(257)}\r\n`],
    ["a head over maxHeadBytes", `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(5000)}\r\n\r\n`],
    ["a head over maxHeadBytes, unterminated", `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(5000)}`],
    [
      "more than 10 interim responses",
      `${"HTTP/1.1 103 Early Hints\r\n\r\n".repeat(11)}HTTP/1.1 200 OK\r\n\r\n`,
    ],
  ];
  for (const [name, bytes] of heads) {
    test(name, async () => {
      answer(bytes);
      await expect(get()).rejects.toBeInstanceOf(UpstreamProtocolError);
    });
  }

  test("identical repeated Content-Length values are accepted", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\nok");
    expect((await readAll(await get())).toString()).toBe("ok");
  });
});

describe("truncated or broken responses fail, never end silently", () => {
  test("closed before any response byte", async () => {
    respond = (_request, reply) => reply.end();
    await expect(get()).rejects.toBeInstanceOf(UpstreamClosedError);
  });

  test("closed in the middle of the head", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-le", "end");
    await expect(get()).rejects.toBeInstanceOf(UpstreamClosedError);
  });

  test("a body shorter than its Content-Length", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", "end");
    expect(await bodyError(await get())).toBeInstanceOf(UpstreamClosedError);
  });

  test("a chunked body cut before its last chunk", async () => {
    answer("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n", "end");
    expect(await bodyError(await get())).toBeInstanceOf(UpstreamClosedError);
  });

  test("a reset in the middle of the body, over TLS", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome", "reset");
    expect(await bodyError(await getSecure())).toBeInstanceOf(UpstreamClosedError);
  });

  test("a reset after a close-delimited body is a truncation, not its end", async () => {
    answer("HTTP/1.1 200 OK\r\n\r\nsome", "reset");
    expect(await bodyError(await get())).toBeInstanceOf(UpstreamClosedError);
  });

  test("a malformed chunk", async () => {
    answer("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    expect(await bodyError(await get())).toBeInstanceOf(UpstreamProtocolError);
    await until(() => plain.open() === 0);
  });
});

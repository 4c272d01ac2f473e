/**
 * What the byte relay accepts from an upstream and when it reuses a connection, over the real agent
 * port to a raw TLS upstream answering crafted bytes: responses relayed as received, malformed heads
 * refused (502 upstream_unreachable, never a wait for the close), truncated or broken bodies never
 * ending silently (the agent's connection is cut), and back-pressure towards the upstream. Reuse and
 * retry rules: ./relay-reuse.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import type { TCPSocketListener } from "bun";
import { until } from "../unit/proxy/upstream/harness.ts";
import { type Parsed, parseAll, type RelayRig, startRelayRig } from "./relay-rig.ts";
import { type BulkUpstream, downloadStalled, startBulkUpstream } from "./slow-upstream.ts";

let rig: RelayRig;
let bulk: BulkUpstream;
/** Accepts TCP and never answers the TLS handshake. */
let hanging: TCPSocketListener<undefined>;
let handshakes = 0;
let abandoned = 0;
/** Well above what loopback socket buffers hold across the two hops. */
const BULK = 32 * 1024 * 1024;
const escaped: unknown[] = [];
const record = (error: unknown) => escaped.push(error);

beforeAll(async () => {
  bulk = await startBulkUpstream(BULK);
  hanging = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: () => {
        handshakes += 1;
      },
      close: () => {
        abandoned += 1;
      },
      data() {},
    },
  });
  rig = await startRelayRig({
    upstreams: [`127.0.0.1:${bulk.port}`, `127.0.0.1:${hanging.port}`],
    upstreamTimeout: 10,
  });
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
});

afterAll(async () => {
  process.off("unhandledRejection", record);
  process.off("uncaughtException", record);
  await rig.stop();
  bulk.stop();
  hanging.stop(true);
});

/** The upstream answers every request with `bytes`, then optionally closes (FIN) or resets. */
function answer(bytes: string | Uint8Array, then?: "end" | "reset"): void {
  rig.respond = (_request, reply) => {
    reply.write(bytes);
    if (then === "end") reply.end();
    if (then === "reset") reply.reset();
  };
}

async function get(path = "/", method = "GET"): Promise<Parsed | undefined> {
  const request = rig.get(path).replace(/^GET /, `${method} `);
  const [response] = await rig.exchange([request]);
  return response;
}

const codeOf = (response: Parsed | undefined) => JSON.parse(response?.body.toString() ?? "{}").code;
const field = (response: Parsed | undefined, name: string) =>
  response?.fields.filter(([n]) => n === name).map(([, value]) => value);
/** The upstream connection each request with this path came on. */
const connectionsOf = (path: string) =>
  rig.upstream.requests.filter((r) => r.target.endsWith(path)).map((r) => r.connection);

describe("responses relayed as received", () => {
  test("status, every field (repeated Set-Cookie kept apart, obs-text kept), body", async () => {
    answer(
      "HTTP/1.1 201 Created\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx-obs: caf\xe9\r\ncontent-length: 5\r\n\r\nhello",
    );
    const response = await get("/fields");
    expect(response?.status).toBe(201);
    expect(field(response, "set-cookie")).toEqual(["a=1", "b=2"]);
    expect(field(response, "x-obs")).toEqual(["caf\xe9"]);
    expect(field(response, "content-length")).toEqual(["5"]);
    expect(response?.body.toString()).toBe("hello");
  });

  test("interim 100 and 103 responses are skipped; only the final head reaches the agent", async () => {
    answer(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    );
    const response = await get("/interim");
    expect(response?.status).toBe(200);
    expect(field(response, "link")).toEqual([]);
    expect(response?.body.toString()).toBe("ok");
  });

  test("a redirect is relayed, never followed", async () => {
    answer("HTTP/1.1 302 Found\r\nlocation: http://evil.example/steal\r\ncontent-length: 0\r\n\r\n");
    const before = rig.upstream.requests.length;
    const response = await get("/redirect");
    expect(response?.status).toBe(302);
    expect(field(response, "location")).toEqual(["http://evil.example/steal"]);
    expect(rig.upstream.requests.length).toBe(before + 1);
  });

  test("an agent gone while the upstream's TLS handshake hangs: the connection attempt is abandoned", async () => {
    const { socket } = await rig.session();
    socket.write(rig.get("/x").replace(`127.0.0.1:${rig.upstream.port}`, `127.0.0.1:${hanging.port}`));
    await until(() => handshakes === 1);
    socket.destroy();
    await until(() => abandoned === 1);
  });

  test("with scrubbing off, a compressed answer is relayed as its bytes, its coding kept", async () => {
    const plain = await startRelayRig({ scrubResponses: false });
    try {
      const gzipped = gzipSync("compressed text");
      plain.respond = (_request, reply) => {
        reply.write(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${gzipped.length}\r\n\r\n`);
        reply.write(gzipped);
      };
      const before = plain.relayed;
      const [response] = await plain.exchange([plain.get("/gzip", "accept-encoding: gzip\r\n")]);
      expect(plain.relayed).toBe(before + 1);
      expect(field(response, "content-encoding")).toEqual(["gzip"]);
      expect(response?.body).toEqual(gzipped);
    } finally {
      await plain.stop();
    }
  });

  test("an agent gone while the upstream is silent: the upstream connection is closed, nothing logged", async () => {
    rig.respond = () => undefined;
    const closedBefore = rig.upstream.accepted() - rig.upstream.open();
    const { socket } = await rig.session();
    socket.write(rig.get("/gone-waiting"));
    await until(() => connectionsOf("/gone-waiting").length === 1);
    socket.destroy();
    await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBefore);
    expect(rig.logger.lines.some((line) => line.includes('"/gone-waiting"'))).toBe(false);
  });

  test("a status line without reason phrase", async () => {
    answer("HTTP/1.1 200\r\ncontent-length: 0\r\n\r\n");
    expect((await get("/no-reason"))?.status).toBe(200);
  });

  test("chunked, with extensions and trailers (dropped)", async () => {
    answer(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n",
    );
    const response = await get("/chunked");
    expect(response?.body.toString()).toBe("hello world");
    expect(response?.head).not.toContain("x-trailer");
  });

  test("a response written one byte at a time", async () => {
    const text =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
    rig.respond = (_request, reply) => {
      void (async () => {
        for (const byte of text) {
          reply.write(byte);
          await Bun.sleep(1);
        }
      })();
    };
    expect((await get("/trickle"))?.body.toString()).toBe("abcde");
  });
});

describe("back-pressure towards the upstream", () => {
  test("a 32 MB answer the agent does not read: the upstream's writes stop; read later, every byte arrives", async () => {
    const result = await downloadStalled(rig, bulk, BULK);
    // A relay without back-pressure would have taken all of it from the upstream into memory.
    expect(result.producedWhileStalled).toBeLessThan(BULK);
    expect(result.memoryGrowth).toBeLessThan(12 * 1024 * 1024);
    expect(result.received).toBe(BULK);
    expect(result.corrupt).toBe(false);
  }, 60_000);
});

describe("malformed heads: 502 upstream_unreachable at once", () => {
  const heads: Array<[string, string]> = [
    ["not HTTP", "hello there\r\n\r\n"],
    ["HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"],
    ["two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["status above 599", "HTTP/1.1 600 Odd\r\ncontent-length: 0\r\n\r\n"],
    ["unrequested 101", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n"],
    ["a bare LF inside the head", "HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\ncontent-length: 0\r\n\r\n"],
    ["a head ended by bare LFs", "HTTP/1.1 200 OK\ncontent-length: 0\n\n"],
    ["a bare LF in the status line", "HTTP/1.1 200 O\nK\r\ncontent-length: 0\r\n\r\n"],
    ["a bare LF in a field name", "HTTP/1.1 200 OK\r\nx-\na: 1\r\ncontent-length: 0\r\n\r\n"],
    ["a bare CR in a value", "HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\ncontent-length: 0\r\n\r\n"],
    ["a NUL in a value", "HTTP/1.1 200 OK\r\nx-a: 1\x00\r\ncontent-length: 0\r\n\r\n"],
    ["space before the colon", "HTTP/1.1 200 OK\r\ncontent-length : 0\r\n\r\n"],
    ["a field without colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
    ["a coding other than chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"],
    ["chunked applied twice", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, chunked\r\n\r\n"],
    ["chunked not last", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n"],
    ["an empty Transfer-Encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding: \r\ncontent-length: 0\r\n\r\n"],
    ["Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"],
    [
      "conflicting Content-Length fields",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
    ],
    ["a negative Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"],
    ["a non-numeric Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 0x10\r\n\r\n"],
    ["more than 256 fields", `HTTP/1.1 200 OK\r\n${"x: y\r\n".repeat(257)}\r\n`],
    ["a head over 64 KiB", `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70_000)}\r\n\r\n`],
    ["a head over 64 KiB, unterminated", `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70_000)}`],
    [
      "more than 10 interim responses",
      `${"HTTP/1.1 103 Early Hints\r\n\r\n".repeat(11)}HTTP/1.1 200 OK\r\n\r\n`,
    ],
  ];
  for (const [name, bytes] of heads) {
    test(name, async () => {
      answer(bytes);
      const response = await get("/malformed");
      expect(response?.status).toBe(502);
      expect(codeOf(response)).toBe("upstream_unreachable");
    });
  }

  test("identical repeated Content-Length values are accepted", async () => {
    answer("HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\nok");
    expect((await get("/same-length"))?.body.toString()).toBe("ok");
  });
});

describe("truncated or broken answers never end silently", () => {
  test("closed before any response byte, or in the middle of the head: 502", async () => {
    for (const [bytes, path] of [
      ["", "/closed-empty"],
      ["HTTP/1.1 200 OK\r\ncontent-le", "/closed-head"],
    ] as const) {
      answer(bytes, "end");
      const response = await get(path);
      expect(response?.status).toBe(502);
      expect(codeOf(response)).toBe("upstream_unreachable");
    }
  });

  const cut: Array<[string, string, "end" | "reset" | undefined]> = [
    ["a body shorter than its Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", "end"],
    [
      "a chunked body cut before its last chunk",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "end",
    ],
    ["a reset in the middle of the body", "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome", "reset"],
    [
      "a reset after a close-delimited body (a truncation, not its end)",
      "HTTP/1.1 200 OK\r\n\r\nsome",
      "reset",
    ],
    [
      "a malformed chunk",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      undefined,
    ],
    ["a close mid chunk-size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1f", "end"],
    [
      "an enormous chunk size",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      undefined,
    ],
    [
      "an oversized chunk line",
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;${"x".repeat(5000)}`,
      undefined,
    ],
  ];
  for (const [name, bytes, then] of cut) {
    test(`${name}: the agent's connection is cut, the upstream's closed`, async () => {
      const closedBefore = rig.upstream.accepted() - rig.upstream.open();
      answer(bytes, then);
      const { socket, received, closed } = await rig.session();
      socket.write(rig.get("/cut"));
      await closed;
      // The head may have been relayed; a complete answer never is (a 502 if nothing was relayed yet).
      expect(parseAll(received()).every((answer) => answer.status === 502)).toBe(true);
      await until(() => rig.upstream.accepted() - rig.upstream.open() > closedBefore);
      expect(escaped).toEqual([]);
    });
  }

  test("binary garbage: 502, nothing escapes", async () => {
    answer(new Uint8Array(512).map((_, i) => (i * 31) % 256));
    expect((await get("/garbage"))?.status).toBe(502);
    expect(escaped).toEqual([]);
  });
});

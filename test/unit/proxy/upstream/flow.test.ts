import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Socket } from "bun";
import { createUpstreamClient, type UpstreamClient } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamError } from "../../../../src/proxy/upstream/errors.ts";
import { type TestPki, testPki } from "../../../helpers/pki.ts";
import { init, ok, type Responder, readAll, startRawServer, until } from "./harness.ts";

const TOTAL = 20 * 1024 * 1024;
const BLOCK = new Uint8Array(64 * 1024).map((_, i) => (i * 7919) % 251);
let pki: TestPki;
let client: UpstreamClient;

beforeAll(async () => {
  pki = await testPki();
  client = createUpstreamClient({ ca: [pki.ca.certPem] });
});

afterAll(() => client.close());

/** SHA-256 of TOTAL bytes of BLOCK repeated. */
function expectedDigest(): string {
  const hash = createHash("sha256");
  for (let sent = 0; sent < TOTAL; sent += BLOCK.length)
    hash.update(BLOCK.subarray(0, Math.min(BLOCK.length, TOTAL - sent)));
  return hash.digest("hex");
}

/** Lets pending I/O settle before checking that a blocked peer stays blocked (not a timing assertion). */
const settle = () => Bun.sleep(100);

describe("back-pressure with 20 MiB bodies over TLS", () => {
  test("download: an unread body stops the upstream's writes; read later, every byte arrives intact", async () => {
    let written = 0;
    let blocked = false;
    let pending: Uint8Array | undefined;
    const pump = (socket: Socket<undefined>) => {
      blocked = false;
      while (written < TOTAL) {
        const chunk = pending ?? BLOCK.subarray(0, Math.min(BLOCK.length, TOTAL - written));
        const accepted = Math.max(0, socket.write(chunk));
        written += accepted;
        pending = accepted < chunk.length ? chunk.subarray(accepted) : undefined;
        if (pending !== undefined) {
          blocked = true;
          return;
        }
      }
    };
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: pki.server.certPem, key: pki.server.keyPem },
      socket: {
        data(socket) {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${TOTAL}\r\n\r\n`);
          pump(socket);
        },
        drain: pump,
      },
    });
    try {
      const response = await client.fetch(`https://127.0.0.1:${listener.port}/big`, init());
      await until(() => blocked);
      await settle();
      expect(blocked).toBe(true);
      expect(written).toBeLessThan(TOTAL / 2);
      const hash = createHash("sha256");
      let received = 0;
      const reader = response.body!.getReader();
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        hash.update(step.value);
        received += step.value.byteLength;
      }
      expect(received).toBe(TOTAL);
      expect(hash.digest("hex")).toBe(expectedDigest());
    } finally {
      listener.stop(true);
    }
  });

  for (const framing of ["content-length", "chunked"] as const) {
    test(`upload (${framing}): a stalled upstream stops the pulls from the body stream; resumed, it gets every byte`, async () => {
      const upstream = startCountingServer(framing);
      let produced = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (produced >= TOTAL) return controller.close();
            const chunk = BLOCK.slice(0, Math.min(BLOCK.length, TOTAL - produced));
            produced += chunk.length;
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
      const headers = new Headers(framing === "content-length" ? { "content-length": String(TOTAL) } : {});
      const request = client.fetch(
        `https://127.0.0.1:${upstream.port}/up`,
        init({ method: "PUT", headers, body }),
      );
      await until(() => produced > 0);
      await settle();
      const stalled = produced;
      await settle();
      expect(produced).toBe(stalled);
      expect(produced).toBeLessThan(TOTAL / 2);
      upstream.resume();
      const response = await request;
      expect((await readAll(response)).toString()).toBe(`${TOTAL} ${expectedDigest()}`);
      upstream.stop();
    });
  }
});

/** A TLS upstream that reads nothing until `resume()`, then answers with the body's length and SHA-256. */
function startCountingServer(framing: "content-length" | "chunked") {
  const parts: Buffer[] = [];
  let socket: Socket<undefined> | undefined;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.server.certPem, key: pki.server.keyPem },
    socket: {
      open(s) {
        socket = s;
        s.pause();
      },
      data(s, bytes) {
        parts.push(bytes);
        const raw = Buffer.concat(parts);
        const start = raw.indexOf("\r\n\r\n") + 4;
        const body = framing === "chunked" ? dechunked(raw.subarray(start)) : raw.subarray(start);
        if (body === undefined || body.length < TOTAL) return;
        parts.length = 0;
        const answer = `${body.length} ${createHash("sha256").update(body).digest("hex")}`;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`);
      },
    },
  });
  return { port: listener.port, resume: () => socket?.resume(), stop: () => listener.stop(true) };
}

/** The decoded body once the last chunk has arrived. */
function dechunked(raw: Buffer): Buffer | undefined {
  if (!raw.subarray(-5).equals(Buffer.from("0\r\n\r\n"))) return undefined;
  const parts: Buffer[] = [];
  for (let offset = 0; ; ) {
    const eol = raw.indexOf("\r\n", offset);
    const size = Number.parseInt(raw.toString("latin1", offset, eol), 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    offset = eol + 2 + size + 2;
  }
}

describe("hostile upstreams: every failure is an UpstreamError, nothing escapes", () => {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  beforeAll(() => {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
  });
  afterAll(() => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });

  /** Writes `bytes`, then optionally closes (FIN) or resets the connection. */
  const send =
    (bytes: string | Uint8Array, then?: "end" | "reset"): Responder =>
    (_request, reply) => {
      reply.write(bytes);
      if (then === "end") reply.end();
      if (then === "reset") reply.reset();
    };
  const chunkedHead = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
  const hostile: Array<[string, Responder]> = [
    ["binary garbage", send(new Uint8Array(512).map((_, i) => (i * 31) % 256))],
    ["garbage then close", send("\x00\xff\r\n\r\n", "end")],
    ["a reset right after the head", send("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", "reset")],
    ["a reset mid-chunk", send(`${chunkedHead}a\r\nabc`, "reset")],
    ["a close mid chunk-size", send(`${chunkedHead}1f`, "end")],
    ["an enormous chunk size", send(`${chunkedHead}fffffffffffffffff\r\n`)],
    ["an oversized chunk line", send(`${chunkedHead}1;${"x".repeat(5000)}`)],
    [
      "a huge Content-Length then close",
      send("HTTP/1.1 200 OK\r\ncontent-length: 999999999999999\r\n\r\nabc", "end"),
    ],
  ];
  for (const tls of [false, true]) {
    for (const [name, responder] of hostile) {
      test(`${name} (${tls ? "TLS" : "TCP"})`, async () => {
        const server = startRawServer(responder, tls ? pki.server : undefined);
        const outcome = await client
          .fetch(`${tls ? "https" : "http"}://127.0.0.1:${server.port}/`, init())
          .then(readAll)
          .then(
            () => "no error",
            (error: unknown) => error,
          );
        expect(outcome).toBeInstanceOf(UpstreamError);
        await until(() => server.open() === 0);
        server.stop();
        expect(escaped).toEqual([]);
      });
    }
  }

  test("bytes sent on an idle pooled connection: it is dropped, the next request gets a new one", async () => {
    const server = startRawServer((request, reply) => {
      ok(request, reply);
      setTimeout(() => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil"), 5);
    });
    expect((await readAll(await client.fetch(`http://127.0.0.1:${server.port}/`, init()))).toString()).toBe(
      "ok",
    );
    await until(() => server.open() === 0);
    expect((await readAll(await client.fetch(`http://127.0.0.1:${server.port}/`, init()))).toString()).toBe(
      "ok",
    );
    expect(server.requests.map((r) => r.connection)).toEqual([0, 1]);
    server.stop();
    expect(escaped).toEqual([]);
  });
});

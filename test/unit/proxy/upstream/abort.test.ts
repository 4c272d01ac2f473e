import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUpstreamClient, type UpstreamClient } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamAbortedError } from "../../../../src/proxy/upstream/errors.ts";
import { testPki } from "../../../helpers/pki.ts";
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

/** Each test scripts the answer; `silent` never answers. */
let respond: Responder = ok;
const silent: Responder = () => undefined;
let server: RawServer;
let secure: RawServer;
let client: UpstreamClient;

beforeAll(async () => {
  const pki = await testPki();
  server = startRawServer((request, reply) => respond(request, reply));
  secure = startRawServer((request, reply) => respond(request, reply), pki.server);
  client = createUpstreamClient({ ca: [pki.ca.certPem] });
});

afterAll(() => {
  client.close();
  server.stop();
  secure.stop();
});

const url = (path = "/") => `http://127.0.0.1:${server.port}${path}`;

describe("an aborted signal destroys the connection and fails the request", () => {
  test("already aborted: nothing is connected", async () => {
    const accepted = server.accepted();
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    const error = await client.fetch(url(), init({ signal: controller.signal })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamAbortedError);
    expect((error as Error).cause).toBe(controller.signal.reason);
    expect(server.accepted()).toBe(accepted);
  });

  test("while connecting: the TLS handshake never completes", async () => {
    // The plain server reads the ClientHello as a request head that never ends, and never answers.
    const hanging = startRawServer(silent);
    const controller = new AbortController();
    const request = client.fetch(`https://127.0.0.1:${hanging.port}/`, init({ signal: controller.signal }));
    await until(() => hanging.open() === 1);
    controller.abort();
    await expect(request).rejects.toBeInstanceOf(UpstreamAbortedError);
    await until(() => hanging.open() === 0);
    hanging.stop();
  });

  test("while waiting for the response head", async () => {
    respond = silent;
    const controller = new AbortController();
    const before = server.requests.length;
    const request = client.fetch(url(), init({ signal: controller.signal }));
    await until(() => server.requests.length === before + 1);
    controller.abort();
    await expect(request).rejects.toBeInstanceOf(UpstreamAbortedError);
    await until(() => server.open() === 0);
  });

  test("while the response body streams, over TLS", async () => {
    respond = (_request, reply) => reply.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nfirst part");
    const controller = new AbortController();
    const response = await client.fetch(
      `https://127.0.0.1:${secure.port}/`,
      init({ signal: controller.signal }),
    );
    const reader = response.body!.getReader();
    expect(Buffer.from((await reader.read()).value ?? []).toString()).toBe("first part");
    const pending = reader.read();
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(UpstreamAbortedError);
    await until(() => secure.open() === 0);
  });

  test("while the request body uploads: the body stream is cancelled too", async () => {
    respond = silent;
    let cancelled = false;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled === 1) controller.enqueue(new Uint8Array(10));
        // then never delivers more: the agent is slow
      },
      cancel() {
        cancelled = true;
      },
    });
    const controller = new AbortController();
    const request = client.fetch(url(), init({ method: "POST", body, signal: controller.signal }));
    await until(() => pulled >= 2);
    controller.abort();
    await expect(request).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect(cancelled).toBe(true);
    await until(() => server.open() === 0);
  });

  test("after the response ended: no effect, the connection stays pooled", async () => {
    respond = ok;
    const controller = new AbortController();
    const before = server.requests.length;
    expect((await readAll(await client.fetch(url(), init({ signal: controller.signal })))).toString()).toBe(
      "ok",
    );
    controller.abort();
    expect(
      (await readAll(await client.fetch(url(), init({ body: streamOf("x"), method: "POST" })))).toString(),
    ).toBe("ok");
    const [first, second] = server.requests.slice(before);
    expect(second?.connection).toBe(first?.connection);
  });
});

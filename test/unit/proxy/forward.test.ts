import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { ProxyError } from "../../../src/core/errors.ts";
import { forward } from "../../../src/proxy/forward.ts";

/** A raw upstream answering every request with the status line it is told to. */
let upstream: Server;
let port = 0;
let statusLine = "";

beforeAll(async () => {
  upstream = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => socket.end(`HTTP/1.1 ${statusLine}\r\ncontent-length: 2\r\n\r\nok`));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const address = upstream.address();
  port = typeof address === "object" && address !== null ? address.port : 0;
});

afterAll(() => {
  upstream.close();
});

const send = () =>
  forward(
    {
      url: `http://127.0.0.1:${port}/x`,
      method: "GET",
      headers: new Headers(),
      body: null,
      signal: new AbortController().signal,
    },
    { fetch, timeoutMs: 5_000 },
  );

test("an upstream status above 599 is 502 upstream_unreachable, not an internal error", async () => {
  statusLine = "999 Weird";
  const error = await send().catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ProxyError);
  expect((error as ProxyError).code).toBe("upstream_unreachable");
});

test("a 599 status passes through (control)", async () => {
  statusLine = "599 Edge";
  const response = await send();
  expect(response.status).toBe(599);
  expect(await response.text()).toBe("ok");
});

/** A raw upstream that answers the first request bytes with `respond`; for framing-level control. */
async function rawUpstream(respond: (socket: Socket) => void) {
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => respond(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const rawPort = typeof address === "object" && address !== null ? address.port : 0;
  const get = (timeoutMs: number) =>
    forward(
      {
        url: `http://127.0.0.1:${rawPort}/`,
        method: "GET",
        headers: new Headers(),
        body: null,
        signal: new AbortController().signal,
      },
      { fetch, timeoutMs },
    );
  return { get, close: () => server.close() };
}

test("an agent that reads slowly is not cut off: the upstream timeout only runs while a chunk is awaited", async () => {
  const slow = await rawUpstream((socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345");
    setTimeout(() => socket.end("67890"), 20);
  });
  try {
    const reader = (await slow.get(200)).body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    // The agent takes three upstream timeouts before it asks for more.
    await Bun.sleep(600);
    for (let step = await reader.read(); !step.done; step = await reader.read())
      text += decoder.decode(step.value);
    expect(text).toBe("1234567890");
  } finally {
    slow.close();
  }
});

test("an upstream that goes silent while the agent waits is still cut off (504 path)", async () => {
  const stalls = await rawUpstream((socket) =>
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345"),
  );
  try {
    const reader = (await stalls.get(200)).body!.getReader();
    await reader.read();
    const failure = await (async () => {
      for (;;) if ((await reader.read()).done) return undefined;
    })().catch((caught: unknown) => caught);
    expect(failure).toBeDefined();
  } finally {
    stalls.close();
  }
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { ProxyError } from "../../../src/errors.ts";
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

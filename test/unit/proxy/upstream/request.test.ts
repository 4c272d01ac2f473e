import { afterAll, describe, expect, test } from "bun:test";
import { createUpstreamClient } from "../../../../src/proxy/upstream/client.ts";
import { UpstreamRequestError } from "../../../../src/proxy/upstream/errors.ts";
import { init, ok, readAll, startRawServer, streamOf, until } from "./harness.ts";

const server = startRawServer(ok);
const client = createUpstreamClient();
const base = `http://127.0.0.1:${server.port}`;

afterAll(() => {
  client.close();
  server.stop();
});

/** Sends one request and returns what the server received. */
async function roundTrip(path: string, overrides: Parameters<typeof init>[0] = {}) {
  const before = server.requests.length;
  const response = await client.fetch(`${base}${path}`, init(overrides));
  expect((await readAll(response)).toString()).toBe("ok");
  expect(server.requests.length).toBe(before + 1);
  return server.requests[before]!;
}

describe("request line and Host", () => {
  test("the request-target is sent exactly as given, dot-segments and encodings untouched", async () => {
    for (const path of ["/a/../b", "/%2e%2e/x", "/a/./b/%2F?q=/../y&z=%00", "//double", "/x?"]) {
      expect((await roundTrip(path)).target).toBe(path);
    }
  });

  test("an empty path is sent as /, a bare query as /?query", async () => {
    expect((await roundTrip("")).target).toBe("/");
    expect((await roundTrip("?a=1")).target).toBe("/?a=1");
  });

  test("Host is the URL authority (non-default port kept), and given host/connection/TE fields are dropped", async () => {
    const headers = new Headers({
      host: "evil.example",
      connection: "close, x-secret",
      "transfer-encoding": "chunked",
      "keep-alive": "timeout=1",
      upgrade: "websocket",
      accept: "application/json",
      "x-custom": "v",
    });
    const received = await roundTrip("/h", { headers });
    expect(received.version).toBe("HTTP/1.1");
    expect(received.fields).toEqual([
      ["host", `127.0.0.1:${server.port}`],
      ["accept", "application/json"],
      ["x-custom", "v"],
    ]);
  });

  test("standard methods are upper-cased like fetch does; others are sent as given", async () => {
    expect((await roundTrip("/m", { method: "get" })).method).toBe("GET");
    expect((await roundTrip("/m", { method: "PATCH", body: streamOf("x") })).method).toBe("PATCH");
    expect((await roundTrip("/m", { method: "PROPFIND" })).method).toBe("PROPFIND");
  });
});

describe("framing of the request body", () => {
  test("no body: nothing for GET/HEAD/OPTIONS/DELETE, content-length: 0 for POST/PUT/PATCH", async () => {
    for (const method of ["GET", "OPTIONS", "DELETE"]) {
      const received = await roundTrip("/n", { method, headers: new Headers({ "content-length": "7" }) });
      expect(received.framing).toBe("none");
    }
    for (const method of ["POST", "PUT", "PATCH"]) {
      const received = await roundTrip("/n", { method });
      expect(received.fields).toContainEqual(["content-length", "0"]);
      expect(received.body.length).toBe(0);
    }
  });

  test("a body with a Content-Length is sent with exactly that length", async () => {
    const body = streamOf("hello ", new Uint8Array(0), "world");
    const received = await roundTrip("/cl", {
      method: "POST",
      headers: new Headers({ "content-length": "11" }),
      body,
    });
    expect(received.framing).toBe("length");
    expect(received.fields.filter(([name]) => name === "content-length")).toEqual([["content-length", "11"]]);
    expect(received.body.toString()).toBe("hello world");
  });

  test("a body without Content-Length goes chunked; empty chunks never end it early", async () => {
    const body = streamOf("abc", new Uint8Array(0), "defgh");
    const received = await roundTrip("/te", { method: "POST", body });
    expect(received.framing).toBe("chunked");
    expect(received.body.toString()).toBe("abcdefgh");
  });

  test("a body longer or shorter than its Content-Length fails and the connection is destroyed", async () => {
    for (const [length, chunks] of [
      ["3", ["abcd"]],
      ["10", ["abc"]],
    ] as const) {
      const before = server.requests.length;
      const request = client.fetch(`${base}/bad-length`, {
        ...init({
          method: "PUT",
          headers: new Headers({ "content-length": length }),
          body: streamOf(...chunks),
        }),
      });
      await expect(request).rejects.toBeInstanceOf(UpstreamRequestError);
      await until(() => server.open() === 0);
      expect(server.requests.length).toBe(before);
    }
  });

  test("a body stream that errors fails the request with UpstreamRequestError", async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("agent went away"));
      },
    });
    await expect(client.fetch(`${base}/err`, init({ method: "POST", body }))).rejects.toBeInstanceOf(
      UpstreamRequestError,
    );
  });
});

describe("refused before anything is sent", () => {
  const refusals: Array<[string, () => Promise<Response>]> = [
    [
      "a header value with CR LF",
      () => client.fetch(`${base}/`, init({ headers: fakeHeaders([["x-a", "1\r\nx-b: 2"]]) })),
    ],
    [
      "a header value with NUL",
      () => client.fetch(`${base}/`, init({ headers: fakeHeaders([["x-a", "1\u0000"]]) })),
    ],
    [
      "a header value with a control",
      () => client.fetch(`${base}/`, init({ headers: new Headers({ "x-a": "a\u0001b" }) })),
    ],
    [
      "a header name with a space",
      () => client.fetch(`${base}/`, init({ headers: fakeHeaders([["x a", "1"]]) })),
    ],
    [
      "a header name with a colon",
      () => client.fetch(`${base}/`, init({ headers: fakeHeaders([["x:a", "1"]]) })),
    ],
    ["a method that is not a token", () => client.fetch(`${base}/`, init({ method: "GET /x" }))],
    ["TRACE (reflects the injected credential)", () => client.fetch(`${base}/`, init({ method: "trace" }))],
    ["CONNECT", () => client.fetch(`${base}/`, init({ method: "CONNECT" }))],
    [
      "an invalid Content-Length",
      () =>
        client.fetch(
          `${base}/`,
          init({ method: "POST", headers: new Headers({ "content-length": "1, 1" }), body: streamOf("a") }),
        ),
    ],
    ["a path with a space", () => client.fetch(`${base}/a b`, init())],
    ["a path with a fragment", () => client.fetch(`${base}/a#frag`, init())],
    ["a userinfo", () => client.fetch(`http://user@127.0.0.1:${server.port}/`, init())],
  ];
  for (const [name, send] of refusals) {
    test(name, async () => {
      const accepted = server.accepted();
      await expect(send()).rejects.toBeInstanceOf(UpstreamRequestError);
      expect(server.accepted()).toBe(accepted);
    });
  }

  test("error messages never quote header values or the query", async () => {
    const error = await client
      .fetch(
        `${base}/p?token=s3cr3t`,
        init({ headers: fakeHeaders([["authorization", "Bearer s3cr3t\r\n"]]) }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamRequestError);
    expect(String((error as Error).message)).not.toContain("s3cr3t");
  });
});

/** Headers refuses CR/LF/NUL itself; a Headers-like object shows the client checks again anyway. */
function fakeHeaders(entries: Array<[string, string]>): Headers {
  return { [Symbol.iterator]: () => entries[Symbol.iterator](), get: () => null } as unknown as Headers;
}

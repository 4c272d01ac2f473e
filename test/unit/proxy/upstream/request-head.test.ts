/**
 * The request head the relay writes upstream (./request-head.ts), read back by the test server's own
 * parser: the target exactly as given, Host from the URL, hop-by-hop and framing fields written only
 * by the serialiser, and everything that could add a line refused before a byte is sent.
 */
import { describe, expect, test } from "bun:test";
import { UpstreamRequestError } from "../../../../src/proxy/upstream/errors.ts";
import { parseTarget } from "../../../../src/proxy/upstream/target.ts";
import { parseRequest, type Received, requestHeadOf } from "./harness.ts";

const ORIGIN = "http://127.0.0.1:8080";

/** The head for `path` as the upstream reads it. */
function sent(path: string, method = "GET", headers = new Headers(), hasBody = false): Received {
  const head = requestHeadOf(parseTarget(`${ORIGIN}${path}`), method, headers, hasBody);
  // A body's bytes follow the head; an empty chunked body or the announced length stands in here.
  const framing = head.framing;
  const body =
    framing.kind === "chunked" ? "0\r\n\r\n" : framing.kind === "length" ? "x".repeat(framing.length) : "";
  const bytes =
    typeof head.bytes === "string" ? head.bytes + body : Buffer.concat([head.bytes, Buffer.from(body)]);
  const received = parseRequest(bytes);
  if (received === undefined) throw new Error("the head did not parse as one complete request");
  return received;
}

describe("request line and Host", () => {
  test("the request-target is sent exactly as given, dot-segments and encodings untouched", () => {
    for (const path of ["/a/../b", "/%2e%2e/x", "/a/./b/%2F?q=/../y&z=%00", "//double", "/x?"]) {
      expect(sent(path).target).toBe(path);
    }
  });

  test("an empty path is sent as /, a bare query as /?query", () => {
    expect(sent("").target).toBe("/");
    expect(sent("?a=1").target).toBe("/?a=1");
  });

  test("Host is the URL authority (non-default port kept), and given host/connection/TE fields are dropped", () => {
    const headers = new Headers({
      host: "evil.example",
      connection: "close, x-secret",
      "transfer-encoding": "chunked",
      "keep-alive": "timeout=1",
      upgrade: "websocket",
      accept: "application/json",
      "x-custom": "v",
    });
    const received = sent("/h", "GET", headers);
    expect(received.version).toBe("HTTP/1.1");
    expect(received.fields).toEqual([
      ["host", "127.0.0.1:8080"],
      ["accept", "application/json"],
      ["x-custom", "v"],
    ]);
  });

  test("standard methods are upper-cased like fetch does; others are sent as given", () => {
    expect(sent("/m", "get").method).toBe("GET");
    expect(sent("/m", "PATCH", new Headers(), true).method).toBe("PATCH");
    expect(sent("/m", "PROPFIND").method).toBe("PROPFIND");
  });

  test("obs-text in a field value is sent as its Latin-1 byte, not UTF-8", () => {
    const head = requestHeadOf(parseTarget(`${ORIGIN}/`), "GET", new Headers({ "x-obs": "caf\xe9" }), false);
    expect(head.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(head.bytes as Uint8Array).includes(Buffer.from("caf\xe9", "latin1"))).toBe(true);
  });
});

describe("framing of the request body", () => {
  test("no body: nothing for GET/HEAD/OPTIONS/DELETE (a given length dropped), content-length: 0 for POST/PUT/PATCH", () => {
    for (const method of ["GET", "OPTIONS", "DELETE"]) {
      expect(sent("/n", method, new Headers({ "content-length": "7" })).framing).toBe("none");
    }
    for (const method of ["POST", "PUT", "PATCH"]) {
      const received = sent("/n", method);
      expect(received.fields).toContainEqual(["content-length", "0"]);
      expect(received.body.length).toBe(0);
    }
  });

  test("a body with a Content-Length is announced with exactly that length, once", () => {
    const received = sent("/cl", "POST", new Headers({ "content-length": "11" }), true);
    expect(received.framing).toBe("length");
    expect(received.fields.filter(([name]) => name === "content-length")).toEqual([["content-length", "11"]]);
  });

  test("a body without Content-Length goes chunked", () => {
    const received = sent("/te", "POST", new Headers(), true);
    expect(received.framing).toBe("chunked");
    expect(received.fields.filter(([name]) => name === "transfer-encoding")).toEqual([
      ["transfer-encoding", "chunked"],
    ]);
  });
});

describe("refused before anything is sent", () => {
  const head =
    (path: string, method = "GET", headers: Headers = new Headers(), hasBody = false) =>
    () =>
      requestHeadOf(parseTarget(`${ORIGIN}${path}`), method, headers, hasBody);
  const refusals: Array<[string, () => unknown]> = [
    ["a header value with CR LF", head("/", "GET", fakeHeaders([["x-a", "1\r\nx-b: 2"]]))],
    ["a header value with NUL", head("/", "GET", fakeHeaders([["x-a", "1\u0000"]]))],
    ["a header value with a control", head("/", "GET", new Headers({ "x-a": "a\u0001b" }))],
    ["a header name with a space", head("/", "GET", fakeHeaders([["x a", "1"]]))],
    ["a header name with a colon", head("/", "GET", fakeHeaders([["x:a", "1"]]))],
    ["a method that is not a token", head("/", "GET /x")],
    ["TRACE (reflects the injected credential)", head("/", "trace")],
    ["CONNECT", head("/", "CONNECT")],
    ["an invalid Content-Length", head("/", "POST", new Headers({ "content-length": "1, 1" }), true)],
  ];
  for (const [name, build] of refusals) {
    test(name, () => {
      expect(build).toThrow(UpstreamRequestError);
    });
  }

  test("error messages never quote header values", () => {
    let error: unknown;
    try {
      head("/p?token=s3cr3t", "GET", fakeHeaders([["authorization", "Bearer s3cr3t\r\n"]]))();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UpstreamRequestError);
    expect(String((error as Error).message)).not.toContain("s3cr3t");
  });
});

/** Headers refuses CR/LF/NUL itself; a Headers-like object shows the serialiser checks again anyway. */
function fakeHeaders(entries: Array<[string, string]>): Headers {
  return { [Symbol.iterator]: () => entries[Symbol.iterator](), get: () => null } as unknown as Headers;
}

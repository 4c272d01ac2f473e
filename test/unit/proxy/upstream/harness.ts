/**
 * Test upstreams for the upstream client: a raw TCP/TLS server that records each request exactly as
 * it arrived (request line, field lines, framing, body bytes, which connection) and lets the test
 * answer with crafted bytes, plus small helpers. Its parser is deliberately separate from the
 * client's code so the two check each other.
 */

import type { Socket, TCPSocketListener } from "bun";
import type { UpstreamInit } from "../../../../src/proxy/upstream/client.ts";

export interface Received {
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  version: string;
  /** Field lines in order, names as sent. */
  fields: Array<[string, string]>;
  framing: "none" | "length" | "chunked";
  body: Buffer;
  /** Accept-order index of the connection it came on. */
  connection: number;
}

export interface Reply {
  write(bytes: string | Uint8Array): void;
  /** FIN after what was written. */
  end(): void;
  /** RST. */
  reset(): void;
}

export type Responder = (request: Received, reply: Reply) => void;

export interface RawServer {
  port: number;
  requests: Received[];
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections currently open. */
  open(): number;
  stop(): void;
}

interface State {
  index: number;
  buffer: Buffer;
}

/** Answers every request with 200 and a short body. */
export const ok: Responder = (_request, reply) =>
  reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");

export function startRawServer(respond: Responder, tls?: { certPem: string; keyPem: string }): RawServer {
  const requests: Received[] = [];
  let accepted = 0;
  let open = 0;
  const listener: TCPSocketListener<State> = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls === undefined ? {} : { tls: { cert: tls.certPem, key: tls.keyPem } }),
    socket: {
      open(socket) {
        socket.data = { index: accepted, buffer: Buffer.alloc(0) };
        accepted += 1;
        open += 1;
      },
      data(socket, bytes) {
        socket.data.buffer = Buffer.concat([socket.data.buffer, bytes]);
        for (let request = take(socket.data); request !== undefined; request = take(socket.data)) {
          requests.push(request);
          respond(request, replyOn(socket));
        }
      },
      close() {
        open -= 1;
      },
      error() {},
    },
  });
  return {
    port: listener.port,
    requests,
    accepted: () => accepted,
    open: () => open,
    stop: () => listener.stop(true),
  };
}

function replyOn(socket: Socket<State>): Reply {
  return {
    write: (bytes) => {
      socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    },
    end: () => socket.end(),
    reset: () => socket.terminate(),
  };
}

/** Takes one complete request off the connection's buffer, or undefined if it is not all there yet. */
function take(state: State): Received | undefined {
  const end = state.buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [line = "", ...rest] = state.buffer.toString("latin1", 0, end).split("\r\n");
  const [method = "", target = "", version = ""] = line.split(" ");
  const fields = rest.map((field): [string, string] => {
    const colon = field.indexOf(":");
    return [field.slice(0, colon), field.slice(colon + 1).trim()];
  });
  const lower = (name: string) => fields.find(([n]) => n.toLowerCase() === name)?.[1];
  const after = state.buffer.subarray(end + 4);
  const chunked = lower("transfer-encoding") === "chunked";
  const length = Number(lower("content-length") ?? 0);
  const body = chunked
    ? dechunk(after)
    : after.length >= length
      ? { body: after.subarray(0, length), used: length }
      : undefined;
  if (body === undefined) return undefined;
  state.buffer = after.subarray(body.used);
  const framing = chunked ? "chunked" : lower("content-length") === undefined ? "none" : "length";
  return { method, target, version, fields, framing, body: Buffer.from(body.body), connection: state.index };
}

/** A whole chunked body (no trailers expected from the client), or undefined if incomplete. */
function dechunk(bytes: Buffer): { body: Buffer; used: number } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const eol = bytes.indexOf("\r\n", offset);
    if (eol < 0) return undefined;
    const size = Number.parseInt(bytes.toString("latin1", offset, eol), 16);
    if (Number.isNaN(size)) throw new Error("test server: bad chunk size from the client");
    if (size === 0) {
      if (bytes.length < eol + 4) return undefined;
      return { body: Buffer.concat(parts), used: eol + 4 };
    }
    if (bytes.length < eol + 2 + size + 2) return undefined;
    parts.push(bytes.subarray(eol + 2, eol + 2 + size));
    offset = eol + 2 + size + 2;
  }
}

export function init(overrides: Partial<UpstreamInit> = {}): UpstreamInit {
  return {
    method: "GET",
    headers: new Headers(),
    body: null,
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Polls until `predicate` holds; the test's own timeout bounds it (no timed assertion). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await Bun.sleep(5);
}

/** A stream of the given chunks. */
export function streamOf(...chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      controller.close();
    },
  });
}

/** Reads the whole body, or the error it fails with. */
export async function readAll(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

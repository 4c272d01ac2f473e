/**
 * Test upstreams for the relay's upstream side: a raw TCP/TLS server that records each request
 * exactly as it arrived (request line, field lines, framing, body bytes, which connection) and lets
 * the test answer with crafted bytes, plus small helpers. Its parser is deliberately separate from
 * the proxy's code so the two check each other.
 */

import type { Socket, TCPSocketListener } from "bun";
import { Connection } from "../../../../src/proxy/upstream/connection.ts";
import { FinalHeadReader } from "../../../../src/proxy/upstream/final-head.ts";
import {
  type RequestFields,
  type RequestHead,
  requestHead,
  serializeFields,
} from "../../../../src/proxy/upstream/request-head.ts";
import { parseTarget, type Target } from "../../../../src/proxy/upstream/target.ts";

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
  /** Bytes received on every connection so far. */
  bytes(): number;
  /** Whether `text` was received (in one read) on any connection, parsed as a request or not. */
  saw(text: string): boolean;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections currently open. */
  open(): number;
  stop(): void;
}

interface State {
  index: number;
  buffer: Buffer;
  /** Answered from its head (`onHead`): what follows on the connection is counted, never parsed. */
  early: boolean;
  /** `onHead` was called for the request being received. */
  headSeen: boolean;
}

export interface RawServerHooks {
  /**
   * Called with each request head (`body` empty, `framing` as announced) before its body arrived;
   * returning true means it was answered already: the rest of the connection is never read as requests.
   */
  onHead?(request: Received, reply: Reply): boolean;
}

/** Answers every request with 200 and a short body. */
export const ok: Responder = (_request, reply) =>
  reply.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");

export function startRawServer(
  respond: Responder,
  tls?: { certPem: string; keyPem: string },
  hooks: RawServerHooks = {},
): RawServer {
  const requests: Received[] = [];
  let bytesReceived = 0;
  const reads: Buffer[] = [];
  let accepted = 0;
  let open = 0;
  const listener: TCPSocketListener<State> = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls === undefined ? {} : { tls: { cert: tls.certPem, key: tls.keyPem } }),
    socket: {
      open(socket) {
        socket.data = { index: accepted, buffer: Buffer.alloc(0), early: false, headSeen: false };
        accepted += 1;
        open += 1;
      },
      data(socket, bytes) {
        bytesReceived += bytes.byteLength;
        reads.push(Buffer.from(bytes));
        const state = socket.data;
        if (state.early) return;
        state.buffer = Buffer.concat([state.buffer, bytes]);
        for (;;) {
          if (hooks.onHead !== undefined && !state.headSeen && answeredEarly(socket, hooks.onHead)) return;
          const request = take(state);
          if (request === undefined) return;
          state.headSeen = false;
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
    bytes: () => bytesReceived,
    saw: (text) => reads.some((read) => read.includes(text)),
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

function answeredEarly(socket: Socket<State>, onHead: NonNullable<RawServerHooks["onHead"]>): boolean {
  const head = headOf(socket.data);
  if (head === undefined) return false;
  socket.data.headSeen = true;
  if (!onHead(head, replyOn(socket))) return false;
  socket.data.early = true;
  socket.data.buffer = Buffer.alloc(0);
  return true;
}

/** The next request's head alone, body empty, if its head is complete. */
function headOf(state: State): Received | undefined {
  const end = state.buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const { method, target, version, fields, framing } = parseHeadAt(state.buffer, end);
  return { method, target, version, fields, framing, body: Buffer.alloc(0), connection: state.index };
}

function parseHeadAt(buffer: Buffer, end: number) {
  const [line = "", ...rest] = buffer.toString("latin1", 0, end).split("\r\n");
  const [method = "", target = "", version = ""] = line.split(" ");
  const fields = rest.map((field): [string, string] => {
    const colon = field.indexOf(":");
    return [field.slice(0, colon), field.slice(colon + 1).trim()];
  });
  const lower = (name: string) => fields.find(([n]) => n.toLowerCase() === name)?.[1];
  const chunked = lower("transfer-encoding") === "chunked";
  const framing: Received["framing"] = chunked
    ? "chunked"
    : lower("content-length") === undefined
      ? "none"
      : "length";
  return { method, target, version, fields, framing, length: Number(lower("content-length") ?? 0) };
}

/** Takes one complete request off the connection's buffer, or undefined if it is not all there yet. */
function take(state: State): Received | undefined {
  const end = state.buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const { method, target, version, fields, framing, length } = parseHeadAt(state.buffer, end);
  const after = state.buffer.subarray(end + 4);
  const body =
    framing === "chunked"
      ? dechunk(after)
      : after.length >= length
        ? { body: after.subarray(0, length), used: length }
        : undefined;
  if (body === undefined) return undefined;
  state.buffer = after.subarray(body.used);
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

/**
 * One bodiless request over a fresh Connection (the relay's building blocks: Connection.open,
 * requestHeadOf, FinalHeadReader), no pool: the final head's status. Rejects with
 * UpstreamConnectError when the connection (or its TLS verification) fails.
 */
export async function requestOnce(url: string, ca?: string[]): Promise<number> {
  const target = parseTarget(url);
  const { connection, opened } = Connection.open(target, ca);
  await opened;
  const heads = new FinalHeadReader(65_536);
  return new Promise<number>((resolve, reject) => {
    connection.attach({
      onData: (bytes) => {
        const final = heads.push(bytes);
        if (final === undefined) return;
        connection.destroy();
        resolve(final.head.status);
      },
      onClose: () => reject(new Error("the upstream closed before answering")),
    });
    connection.write(requestHeadOf(target, "GET", new Headers(), false).bytes);
  });
}

/** Polls until `predicate` holds; the test's own timeout bounds it (no timed assertion). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await Bun.sleep(5);
}

/** The request in `bytes` as this server would read it, if complete. */
export function parseRequest(bytes: string | Uint8Array): Received | undefined {
  const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
  return take({ index: 0, buffer, early: false, headSeen: false });
}

/** A request head as the relay builds it: the fields serialised, then the head around them. */
export function requestHeadOf(
  target: Target,
  method: string,
  headers: RequestFields,
  hasBody: boolean,
): RequestHead {
  return requestHead(target, method, serializeFields(headers), hasBody);
}

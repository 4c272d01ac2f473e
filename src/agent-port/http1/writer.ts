import { STATUS_CODES } from "node:http";
import { HOP_BY_HOP } from "../../core/http/fields.ts";
import type { AgentSocket } from "./socket.ts";

// Connection-level fields belong to each hop (RFC 9110 §7.6.1): this writer frames the body itself,
// and a handler's copy (e.g. an upstream's `transfer-encoding`) would corrupt the framing.
/** RFC 9110 §5.5: a CR, LF or NUL in a field would let a value start a new field (response splitting). */
const UNSAFE_VALUE = /[\r\n\0]/;
const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

export interface ResponseContext {
  method: string;
  /** The request's HTTP minor version: 1.0 clients get a close-delimited body instead of chunks. */
  minor: 0 | 1;
  keepAlive: boolean;
}

/**
 * Writes `response` on `socket` as HTTP/1.1 and streams its body with back-pressure (waiting for
 * `drain`). Returns whether the connection may carry another request. Throws if the handler's
 * response cannot be written faithfully (invalid field, body longer or shorter than its length).
 */
export async function writeResponse(socket: AgentSocket, response: Response, context: ResponseContext) {
  const status = response.status;
  // RFC 9110 §6.4.1: HEAD, 1xx, 204 and 304 responses have no content, whatever the headers say.
  const bodiless = context.method === "HEAD" || status < 200 || status === 204 || status === 304;
  // Written as latin1: field values are byte strings (RFC 9110 §5.5 obs-text), one char per byte.
  let head = statusLine(status);
  let length: number | undefined;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    if (name === "content-length") length = contentLength(value);
    head += field(name, value);
  }
  // Headers joins repeated values with ", ", which breaks cookies (RFC 6265 §3): one field each.
  for (const cookie of response.headers.getSetCookie()) head += field("set-cookie", cookie);
  if (!response.headers.has("date")) head += `date: ${httpDate()}\r\n`;
  const chunked = !bodiless && length === undefined && context.minor === 1;
  // RFC 9112 §6.3: without a length or chunking, only closing the connection ends the body. A
  // handler's `Connection: close` (a refusal after which this connection must not serve again,
  // e.g. its certificate expired) is honoured, though the field itself is rewritten here.
  const keepAlive =
    context.keepAlive && !asksToClose(response) && (bodiless || length !== undefined || chunked);
  if (chunked) head += "transfer-encoding: chunked\r\n";
  if (!keepAlive) head += "connection: close\r\n";
  else if (context.minor === 0) head += "connection: keep-alive\r\n";
  if (bodiless || response.body === null) {
    await response.body?.cancel();
    if (!bodiless && length !== undefined && length > 0) throw new Error("response body missing");
    socket.write(`${head}${!bodiless && chunked ? "\r\n0\r\n\r\n" : "\r\n"}`);
    return keepAlive;
  }
  // Head and first chunk leave as one TLS record when the body is already there (one turn later at
  // most otherwise): each socket write costs a record, an encryption and a syscall.
  socket.cork();
  setImmediate(() => socket.uncork());
  socket.write(`${head}\r\n`);
  const written = await pump(response.body, socket, chunked);
  if (length !== undefined && written !== length) throw new Error("response body length mismatch");
  return keepAlive;
}

function asksToClose(response: Response): boolean {
  const connection = response.headers.get("connection");
  return connection !== null && /(^|,)\s*close\s*(,|$)/i.test(connection);
}

function field(name: string, value: string): string {
  if (UNSAFE_VALUE.test(value)) throw new Error("response field value with CR, LF or NUL");
  return `${name}: ${value}\r\n`;
}

function contentLength(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new Error("response Content-Length is not one decimal number");
  return Number(value);
}

async function pump(
  body: ReadableStream<Uint8Array>,
  socket: AgentSocket,
  chunked: boolean,
): Promise<number> {
  const reader = body.getReader();
  let written = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (socket.destroyed) return written;
      if (value.byteLength === 0) continue;
      written += value.byteLength;
      const flushed = chunked ? writeChunk(socket, value) : socket.write(value);
      if (!flushed) await socket.drained();
    }
    if (chunked && !socket.destroyed) socket.write(LAST_CHUNK);
    return written;
  } finally {
    // A no-op after the last chunk; otherwise tells the producer (e.g. an upstream fetch) to stop.
    await reader.cancel().catch(() => undefined);
  }
}

function writeChunk(socket: AgentSocket, value: Uint8Array): boolean {
  socket.write(`${value.byteLength.toString(16)}\r\n`);
  socket.write(value);
  return socket.write(CRLF);
}

/** `HTTP/1.1 <status> <our reason>` and its CRLF, made once per status code (at most 900 of them). */
const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

let dateSecond = 0;
let dateText = "";

/** RFC 9110 §6.6.1 Date, formatted once per second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** RFC 9457 problem for a failure we do not describe to the client; the connection closes after it. */
export function serverErrorBytes(): string {
  const body = JSON.stringify({
    type: "about:blank",
    title: "Internal Server Error",
    status: 500,
    code: "server_error",
  });
  return (
    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/problem+json\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

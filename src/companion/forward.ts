/**
 * One tool request sent on to the surrogate proxy over mTLS as `/<host>[:port]/<path>` with the
 * provider's wrapper, and the answer streamed back. Bodies stream both ways (never buffered);
 * Bun's fetch keeps the connections to the broker alive between requests.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { HOP_BY_HOP } from "../core/http/fields.ts";
import type { BrokerConnection } from "./broker.ts";
import { sendProblem } from "./problem.ts";

/** The proxy answers within its own upstream timeout; this bounds a broker that stops answering. */
const BROKER_TIMEOUT_MS = 300_000;

/**
 * Fields that never leave the companion: the tool's own credential (a placeholder at best; the
 * wrapper replaces it, DESIGN §4.3), the proxy credential, and `Host` (the target path decides it).
 */
const DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, "host", "authorization", "proxy-authorization"]);

export interface ForwardRequest {
  /** `/<host>[:port]/<path>?<query>` as the proxy expects it. */
  target: string;
  wrapper: string;
  connection: BrokerConnection;
  describeFailure(error: unknown): string;
}

export async function forwardToBroker(
  request: IncomingMessage,
  response: ServerResponse,
  forward: ForwardRequest,
): Promise<void> {
  const abort = new AbortController();
  response.on("close", () => abort.abort());
  let answer: Response;
  try {
    answer = await fetch(`${forward.connection.broker}${forward.target}`, {
      method: request.method ?? "GET",
      headers: requestHeaders(request, forward.wrapper),
      ...(hasBody(request) ? { body: bodyStream(request), duplex: "half" } : {}),
      redirect: "manual",
      decompress: false,
      signal: AbortSignal.any([abort.signal, AbortSignal.timeout(BROKER_TIMEOUT_MS)]),
      tls: forward.connection.tls,
    } as RequestInit);
  } catch (error) {
    if (abort.signal.aborted) return;
    const detail = forward.describeFailure(error);
    sendProblem(response, 502, "upstream_unreachable", `companion: ${detail}`);
    return;
  }
  await relay(answer, response);
}

/** The tool's request body as fetch streams it (Node's and the DOM's stream typings differ only in name). */
export function bodyStream(request: IncomingMessage): ReadableStream<Uint8Array> {
  return Readable.toWeb(request) as unknown as ReadableStream<Uint8Array>;
}

function requestHeaders(request: IncomingMessage, wrapper: string): Headers {
  const dropped = new Set(DROPPED);
  for (const option of (request.headers.connection ?? "").split(","))
    dropped.add(option.trim().toLowerCase());
  const headers = new Headers();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    if (!dropped.has(name)) headers.append(name, raw[i + 1] ?? "");
  }
  headers.set("authorization", `Bearer ${wrapper}`);
  return headers;
}

/** RFC 9112 §6.3: a request has a body only when Content-Length (non-zero) or Transfer-Encoding frames one. */
function hasBody(request: IncomingMessage): boolean {
  if (request.headers["transfer-encoding"] !== undefined) return true;
  const length = request.headers["content-length"];
  return length !== undefined && length !== "0";
}

export async function relay(answer: Response, response: ServerResponse): Promise<void> {
  const dropped = new Set(HOP_BY_HOP);
  for (const option of (answer.headers.get("connection") ?? "").split(",")) dropped.add(option.trim());
  for (const [name, value] of answer.headers) {
    if (dropped.has(name) || name === "set-cookie") continue;
    response.setHeader(name, value);
  }
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) response.setHeader("set-cookie", cookies);
  response.writeHead(answer.status);
  if (answer.body === null) {
    response.end();
    return;
  }
  const reader = answer.body.getReader();
  try {
    for (let step = await reader.read(); !step.done; step = await reader.read()) {
      if (response.destroyed) break;
      if (!response.write(step.value)) await new Promise((resolve) => response.once("drain", resolve));
    }
    response.end();
  } catch {
    // The broker or the tool went away mid-body: the tool sees a cut connection, as it would directly.
    response.destroy();
  }
}

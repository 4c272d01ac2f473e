import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClientIdentity } from "../identity/types.ts";
import type { AgentRequest } from "./types.ts";

/** Bytes buffered from the socket ahead of the handler before the request stream is paused. */
const BODY_HIGH_WATER_MARK = 64 * 1024;

/** Turns a node:http request into the AgentRequest contract: raw target, raw headers, streamed body. */
export function toAgentRequest(
  req: IncomingMessage,
  res: ServerResponse,
  client: ClientIdentity,
): AgentRequest {
  const rawHeaders: Array<readonly [string, string]> = [];
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    const value = req.rawHeaders[i + 1] ?? "";
    rawHeaders.push([name, value]);
    headers.append(name, value);
  }
  return {
    method: req.method ?? "GET",
    target: req.url ?? "",
    rawHeaders,
    headers,
    body: hasBody(req) ? bodyStream(req) : null,
    signal: disconnectSignal(res),
    client,
  };
}

/** RFC 9112 §6.3: a request has a body only when Content-Length or Transfer-Encoding says so. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

/** A pull-based stream over the request: the socket is paused while the consumer is behind. */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on("data", (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on("end", () => controller.close());
        req.on("error", (error) => controller.error(error));
        req.on("aborted", () => controller.error(new Error("client closed the request body")));
      },
      pull() {
        req.resume();
      },
      cancel() {
        req.destroy();
      },
    },
    { highWaterMark: BODY_HIGH_WATER_MARK, size: (chunk) => chunk?.byteLength ?? 0 },
  );
}

/** Aborted when the connection closes before the response was completely written. */
function disconnectSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

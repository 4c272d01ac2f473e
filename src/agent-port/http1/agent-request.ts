import type { ClientIdentity } from "../../core/identity/types.ts";
import type { RequestHead } from "./head.ts";
import type { AgentRequest } from "./types.ts";

/** The AgentRequest contract; `headers` is built only if a handler asks for it. */
export function agentRequest(
  head: RequestHead,
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
  client: ClientIdentity,
): AgentRequest {
  let headers: Headers | undefined;
  return {
    method: head.method,
    target: head.target,
    rawHeaders: head.rawHeaders,
    get headers() {
      headers ??= toHeaders(head.rawHeaders);
      return headers;
    },
    body,
    signal,
    client,
  };
}

function toHeaders(rawHeaders: ReadonlyArray<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of rawHeaders) headers.append(name, value);
  return headers;
}

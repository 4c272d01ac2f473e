import type { ClientIdentity } from "../../core/identity/types.ts";

/**
 * A request on the agent port after the TLS layer established who is calling. Routing works on
 * `target` exactly as received (DESIGN §11: `new URL()` would resolve `..` and `%2e%2e`), and header
 * checks on `rawHeaders` (a `Headers` object silently joins duplicates).
 */
export interface AgentRequest {
  method: string;
  /** The request target as sent on the request line, never normalised. */
  target: string;
  /** Header name/value pairs in the order received, names as sent. */
  rawHeaders: ReadonlyArray<readonly [string, string]>;
  headers: Headers;
  /** Null for requests without a body. Streamed: never buffered by the server. */
  body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away, so upstream work is cancelled with it. */
  signal: AbortSignal;
  client: ClientIdentity;
}

export type AgentHandler = (request: AgentRequest) => Promise<Response>;

import type { ClientIdentity } from "../../core/identity/types.ts";
import type { Framing } from "./head.ts";
import type { AgentSocket } from "./socket.ts";

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

/** Answers a request; a handler may also offer a `relay` for the requests it can answer as bytes. */
export type AgentHandler = ((request: AgentRequest) => Promise<Response>) & { relay?: AgentRelay };

/** A request the connection offers to a handler's byte relay before building an AgentRequest. */
export interface RelayRequest {
  method: string;
  target: string;
  rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** The request's HTTP minor version: the relay frames its answer as the writer would. */
  minor: 0 | 1;
  /** Whether the agent's connection may carry another request (RFC 9112 §9.3). */
  keepAlive: boolean;
  client: ClientIdentity;
  /** Absent for a bodiless request. */
  body?: RelayBody | undefined;
}

/**
 * A request body as the relay sees it. Nothing of it is read from the agent's socket until the relay
 * first calls `resume` (when the upstream is ready to take it); `Expect: 100-continue` is answered then.
 */
export interface RelayBody {
  /** As the agent framed it; the connection decodes it, the relay frames it again for the upstream. */
  framing: Exclude<Framing, { kind: "none" }>;
  /** The upstream is not taking bytes: stop reading the agent's socket. */
  pause(): void;
  /** The relay wants (more of) the body. */
  resume(): void;
}

/** Where the connection hands a relayed request's decoded body, as it arrives. */
export interface RelayUpload {
  push(data: Uint8Array): void;
  /** The body arrived whole. */
  end(): void;
  /** The agent's framing broke (chunked syntax): the body can never be delimited. */
  broken(): void;
}

/** A request the relay took on. */
export interface RelayCall {
  /**
   * A Response for the connection to write (error answers, rare cases), or whether the relay wrote
   * the whole response itself and the connection may carry another request.
   */
  done: Promise<Response | boolean>;
  /** The agent went away: stop, release nothing half-used. */
  abort(): void;
  /** Set when the request has a body. */
  upload?: RelayUpload;
}

/**
 * Writes the answer straight onto the agent's socket (no Response or stream per request), or returns
 * undefined to leave the request to the handler. Must decide synchronously.
 */
export type AgentRelay = (request: RelayRequest, socket: AgentSocket) => RelayCall | undefined;

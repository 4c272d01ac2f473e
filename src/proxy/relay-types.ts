/** What the byte relay (./relay.ts) is given: its shared environment and one request's plan (./relay-plan.ts). */
import type { RelayBody } from "../agent-port/http1/types.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import type { RequestHead } from "./upstream/request-head.ts";
import type { Target } from "./upstream/target.ts";

export interface RelayEnv {
  pool: ConnectionPool;
  ca: string[] | undefined;
  /** Seconds the upstream may stay silent (`agent.upstream_timeout`). */
  timeoutSeconds: number;
  maxHeadBytes: number;
  /** `ProxyDeps.dial`: asked with the plan's `url` before anything is sent upstream. */
  dial: ((url: string) => boolean) | undefined;
}

export interface RelayPlan {
  /** The upstream URL, as the handler path would give it to `fetch`. */
  url: string;
  target: Target;
  head: RequestHead;
  /** The token's spellings to mask, when scrubbing is on. */
  patterns: readonly Uint8Array[] | undefined;
  /** The agent request's HTTP minor version and whether its connection may stay open. */
  minor: 0 | 1;
  keepAlive: boolean;
  /** The agent's request body, if it has one (its framing for the upstream is in `head`). */
  body: RelayBody | undefined;
  /** Completes the access line: the status and length the agent is told, or a Response to write. */
  answered(status: number, bytes: number | undefined, code?: string): void;
  /** For an answer the relay hands back as a Response (a compressed body to decode and scrub). */
  decoded(response: Response): Promise<Response>;
}

/**
 * The relay's rare case: an upstream that compressed its answer although the proxy asked for
 * `identity`, while scrubbing is on. Its body cannot be scanned as it arrives, so the rest of the
 * exchange becomes a Response for scrubResponse to decode and scrub, as on the handler path.
 */
import { ProxyError } from "../core/errors.ts";
import { filterResponseHeaders } from "./headers.ts";
import type { PushResult } from "./upstream/body-decoder.ts";
import type { Connection, ConnectionListener } from "./upstream/connection.ts";
import type { ConnectionPool } from "./upstream/pool.ts";
import { type Flow, ResponseBody } from "./upstream/response-body.ts";
import type { BodyFraming, ResponseHead } from "./upstream/response-head.ts";

const IDENTITY = /^\s*(?:identity\s*)?$/i;

/** The answer carries a content coding other than identity: it cannot be scrubbed as it arrives. */
export function encoded(head: ResponseHead): boolean {
  let coding = "";
  for (const [name, value] of head.fields) {
    if (name === "content-encoding") coding += coding === "" ? value : `,${value}`;
  }
  return !IDENTITY.test(coding);
}

export interface DecodedEnv {
  pool: ConnectionPool;
  timeoutSeconds: number;
}

export function respondDecoded(
  connection: Connection,
  head: ResponseHead,
  framing: Exclude<BodyFraming, { kind: "none" }>,
  rest: Uint8Array,
  env: DecodedEnv,
  sent: boolean,
): Response {
  const exchange = new DecodedBody(connection, framing, env, sent && head.persistent);
  connection.attach(exchange);
  if (rest.byteLength > 0) exchange.onData(rest);
  return new Response(exchange.body.stream(), {
    status: head.status,
    statusText: head.reason,
    headers: filterResponseHeaders(new Headers(head.fields)),
  });
}

class DecodedBody implements ConnectionListener, Flow {
  readonly body: ResponseBody;
  #done = false;

  constructor(
    private readonly connection: Connection,
    framing: Exclude<BodyFraming, { kind: "none" }>,
    private readonly env: DecodedEnv,
    private readonly reusable: boolean,
  ) {
    this.body = new ResponseBody(framing, this);
  }

  onData(bytes: Uint8Array): void {
    if (this.#done) return;
    this.connection.setTimeout(this.env.timeoutSeconds);
    let result: PushResult;
    try {
      result = this.body.push(bytes);
    } catch {
      this.#fail("upstream_unreachable", "answered with a body that could not be read");
      return;
    }
    if (result !== "more") this.#finish(result === "done" && this.reusable);
  }

  onClose(clean: boolean): void {
    if (this.#done) return;
    if (this.body.end(clean)) this.#finish(false);
    else this.#fail("upstream_unreachable", "closed the connection before the response was complete");
  }

  onTimeout(): void {
    this.#fail("upstream_timeout", "did not answer in time");
  }

  pause(): void {
    if (this.#done) return;
    this.connection.pause();
    this.connection.setTimeout(0);
  }

  resume(): void {
    if (this.#done) return;
    this.connection.setTimeout(this.env.timeoutSeconds);
    this.connection.resume();
  }

  cancelled(): void {
    if (this.#done) return;
    this.#done = true;
    this.connection.destroy();
  }

  #finish(reusable: boolean): void {
    this.#done = true;
    this.connection.detach();
    this.connection.setTimeout(0);
    if (reusable) this.env.pool.release(this.connection);
    else this.connection.destroy();
  }

  #fail(code: "upstream_unreachable" | "upstream_timeout", what: string): void {
    if (this.#done) return;
    this.#done = true;
    this.connection.destroy();
    this.body.error(new ProxyError(code, `proxy: the upstream ${what}`));
  }
}

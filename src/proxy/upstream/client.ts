/**
 * A pooled HTTP/1.1 client for the proxy's upstream requests, a drop-in for the way the proxy used
 * fetch (`redirect: "manual"`, `decompress: false`): redirects are returned, never followed (DESIGN
 * §2), content codings are passed through untouched, TLS is verified as strictly as fetch does. It
 * has no timeouts of its own besides the idle-pool one: the caller's signal bounds each request.
 */

import { Connection } from "./connection.ts";
import { UpstreamAbortedError, UpstreamConnectError } from "./errors.ts";
import { type ExchangeOptions, exchange } from "./exchange.ts";
import { ConnectionPool } from "./pool.ts";
import { type RequestHead, serializeRequestHead } from "./request-head.ts";
import { parseTarget, type Target } from "./target.ts";

export interface UpstreamClientOptions {
  /** Trust anchors (PEM strings) for https upstreams; undefined = Bun's default (Mozilla) store. */
  ca?: string[];
  /** Idle keep-alive connections kept per origin (scheme+host+port); default 32. */
  maxIdlePerOrigin?: number;
  /** Milliseconds an idle pooled connection is kept before being closed; default 15_000. */
  idleTimeoutMs?: number;
  /** Bytes of status line + header fields accepted from an upstream; default 65_536. */
  maxHeadBytes?: number;
}

export interface UpstreamInit {
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  signal: AbortSignal;
}

export type UpstreamFetch = (url: string, init: UpstreamInit) => Promise<Response>;

export interface UpstreamClient {
  fetch: UpstreamFetch;
  close(): void;
}

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Rejects with UpstreamRequestError (refused before sending), UpstreamConnectError, UpstreamClosedError,
 * UpstreamProtocolError or UpstreamAbortedError; a started body stream errors with the same classes.
 */
export function createUpstreamClient(options: UpstreamClientOptions = {}): UpstreamClient {
  const pool = new ConnectionPool(options.maxIdlePerOrigin ?? 32, options.idleTimeoutMs ?? 15_000);
  const maxHeadBytes = options.maxHeadBytes ?? 65_536;
  let closed = false;

  /** Not async: a request on a pooled connection costs one promise, the exchange's own. */
  function send(url: string, init: UpstreamInit): Promise<Response> {
    const target = parseTarget(url);
    const head = serializeRequestHead(target, init.method, init.headers, init.body !== null);
    if (closed) throw new UpstreamConnectError("upstream client: the client is closed");
    if (init.signal.aborted) throw aborted(init.signal);
    const fresh = () =>
      connect(target, options.ca, init.signal).then((connection) =>
        exchange(connection, settings(undefined)),
      );
    const settings = (retry: ExchangeOptions["retry"]): ExchangeOptions => ({
      head,
      body: init.body,
      signal: init.signal,
      maxHeadBytes,
      release: pool,
      retry,
    });
    const pooled = pool.acquire(target.origin);
    if (pooled === undefined) return fresh();
    return exchange(pooled, settings(retriable(head, init) ? fresh : undefined));
  }

  return {
    fetch(url, init) {
      let response: Promise<Response>;
      try {
        response = send(url, init);
      } catch (error) {
        response = Promise.reject(error);
      }
      if (init.body === null) return response;
      return response.catch((error: unknown) => {
        init.body?.cancel().catch(() => undefined);
        throw error;
      });
    },
    close() {
      closed = true;
      pool.close();
    },
  };
}

/**
 * The keep-alive race: the upstream may close a pooled connection as we reuse it, before any byte of
 * a response. RFC 9112 §9.3.1 allows one automatic retry only for idempotent requests; and a streamed
 * body cannot be replayed, so only bodiless ones qualify. The exchange decides whether its failure
 * was that race (UpstreamClosedError, beforeResponse).
 */
function retriable(head: RequestHead, init: UpstreamInit): boolean {
  return init.body === null && IDEMPOTENT.has(head.method);
}

/** Opens a connection, abandoning it if the signal aborts first. */
function connect(target: Target, ca: string[] | undefined, signal: AbortSignal): Promise<Connection> {
  const { connection, opened } = Connection.open(target, ca);
  return new Promise<Connection>((resolve, reject) => {
    const onAbort = () => {
      connection.destroy();
      reject(aborted(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    opened.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve(connection);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function aborted(signal: AbortSignal): UpstreamAbortedError {
  return new UpstreamAbortedError("upstream client: the request was aborted", { cause: signal.reason });
}

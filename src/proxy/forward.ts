import { rootCertificates } from "node:tls";
import { ProxyError } from "../core/errors.ts";
import { filterResponseHeaders } from "./headers.ts";

export interface ForwardRequest {
  url: string;
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  /** The client's signal: when the agent goes away, the upstream request is cancelled with it. */
  signal: AbortSignal;
}

/** Rewrites a body chunk by chunk (e.g. ./scrub.ts Scrubber); `flush` returns what it held back. */
export interface BodyTransform {
  push(chunk: Uint8Array): Uint8Array;
  flush(): Uint8Array;
}

export interface ForwardOptions {
  fetch: typeof fetch;
  /**
   * Decides from the upstream's response headers whether its body is rewritten on the way: applied
   * inside the one stream that already relays the body, so rewriting costs no stream of its own.
   */
  bodyTransform?: (headers: Headers) => BodyTransform | undefined;
  /** Idle timeout, milliseconds: the longest the upstream may stay silent (or the upload stall). */
  timeoutMs: number;
  /** Trust anchors for upstream TLS; undefined means the system store alone. */
  ca?: string[];
}

/** System CAs always apply (DESIGN §7); an operator's `upstream_ca` is added to them, never instead. */
export function upstreamTrust(upstreamCa: string | undefined): string[] | undefined {
  return upstreamCa === undefined ? undefined : [...rootCertificates, upstreamCa];
}

/**
 * Sends the request upstream and streams the answer back without buffering or decoding it. Redirects
 * are returned, never followed (DESIGN §2: a followed redirect would carry the real token to a host
 * nobody allowed); `decompress: false` keeps the upstream's bytes and Content-Encoding as they were.
 * Throws ProxyError `upstream_timeout` or `upstream_unreachable`.
 */
export async function forward(request: ForwardRequest, options: ForwardOptions): Promise<Response> {
  const controller = new AbortController();
  const abortFromClient = () => controller.abort(request.signal.reason);
  request.signal.addEventListener("abort", abortFromClient, { once: true });
  const watchdog = new Watchdog(options.timeoutMs, () =>
    controller.abort(new Error("upstream idle timeout")),
  );
  const finish = () => {
    watchdog.stop();
    request.signal.removeEventListener("abort", abortFromClient);
  };
  let upstream: Response;
  try {
    upstream = await options.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body === null ? null : touching(request.body, watchdog, () => {}),
      duplex: "half",
      redirect: "manual",
      decompress: false,
      signal: controller.signal,
      ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
    } as RequestInit);
  } catch (error) {
    finish();
    if (watchdog.fired)
      throw new ProxyError("upstream_timeout", "proxy: the upstream did not answer in time");
    throw new ProxyError("upstream_unreachable", "proxy: the upstream could not be reached", {
      cause: error,
    });
  }
  // RFC 9110 §15: a status is 100–599 (fetch only hands out final ones). Bun's fetch passes 600–999
  // on, which `new Response` refuses with a RangeError: a broken upstream, not a proxy failure.
  if (upstream.status < 200 || upstream.status > 599) {
    finish();
    await upstream.body?.cancel().catch(() => undefined);
    throw new ProxyError("upstream_unreachable", "proxy: the upstream answered with an invalid status code");
  }
  const transform = upstream.body === null ? undefined : options.bodyTransform?.(upstream.headers);
  const body =
    upstream.body === null
      ? null
      : touching(upstream.body, watchdog, finish, { transform, pauseBetweenPulls: true });
  if (body === null) finish();
  return new Response(body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: filterResponseHeaders(upstream.headers),
  });
}

/** Fires once `timeoutMs` pass without `touch()`. One timer, re-armed lazily instead of per chunk. */
class Watchdog {
  fired = false;
  #paused = false;
  #last = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.#arm(timeoutMs);
  }

  touch(): void {
    this.#last = performance.now();
  }

  /**
   * While the agent is not asking for more of the response, a silent upstream is only respecting
   * back-pressure: the clock stops, so a slow reader is not cut off as "upstream timeout".
   */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.touch();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#check(), delay);
  }

  #check(): void {
    const idle = performance.now() - this.#last;
    if (this.#paused || idle < this.timeoutMs) {
      this.#arm(this.#paused ? this.timeoutMs : this.timeoutMs - idle);
      return;
    }
    this.fired = true;
    this.#timer = undefined;
    this.onIdle();
  }
}

interface Relay {
  transform?: BodyTransform | undefined;
  /** For the response: the watchdog only runs while the agent is waiting for a chunk. */
  pauseBetweenPulls?: boolean;
}

/**
 * Passes chunks through one at a time (back-pressure intact), telling the watchdog about each and
 * applying `transform`, if any. A chunk the transform holds back entirely is not an answer to the
 * pull: the next one is read at once.
 */
function touching(
  source: ReadableStream<Uint8Array>,
  watchdog: Watchdog,
  onEnd: () => void,
  relay: Relay = {},
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const { transform, pauseBetweenPulls = false } = relay;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (pauseBetweenPulls) watchdog.resume();
          for (;;) {
            const { done, value } = await reader.read();
            watchdog.touch();
            if (done) {
              const rest = transform?.flush();
              if (rest !== undefined && rest.length > 0) controller.enqueue(rest);
              onEnd();
              controller.close();
              return;
            }
            const out = transform === undefined ? value : transform.push(value);
            if (out.length > 0 || transform === undefined) {
              controller.enqueue(out);
              if (pauseBetweenPulls) watchdog.pause();
              return;
            }
          }
        } catch (error) {
          onEnd();
          controller.error(error);
        }
      },
      cancel(reason) {
        onEnd();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

import { createServer, type Server as NetServer } from "node:net";

/** What an upstream saw of one request. */
export interface RecordedRequest {
  method: string;
  /** Path and query exactly as the server received them. */
  path: string;
  headers: Headers;
  /** Bytes of body read (only the default handler reads bodies; custom handlers may set it). */
  bodySize: number;
  /** The client's source port: distinct ports = distinct TCP connections (keep-alive checks). */
  remotePort: number | undefined;
}

export interface Upstream {
  port: number;
  /** `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT`. */
  origin: string;
  requests: RecordedRequest[];
  /** Distinct connections seen so far. */
  connections(): number;
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  tls?: { certPem: string; keyPem: string };
  /** Replaces the default echo; the recorded entry is passed so a handler can fill in `bodySize`. */
  handler?: (request: Request, recorded: RecordedRequest) => Response | Promise<Response>;
}

/**
 * A real HTTP(S) server on 127.0.0.1:0 that records every request. By default it reads the body
 * (streaming, counting bytes) and answers JSON saying which Authorization and Host it received.
 */
export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...(options.tls === undefined ? {} : { tls: { cert: options.tls.certPem, key: options.tls.keyPem } }),
    maxRequestBodySize: 1024 * 1024 * 1024,
    idleTimeout: 30,
    async fetch(request, srv) {
      const url = new URL(request.url);
      const recorded: RecordedRequest = {
        method: request.method,
        path: url.pathname + url.search,
        headers: new Headers(request.headers),
        bodySize: 0,
        remotePort: srv.requestIP(request)?.port,
      };
      requests.push(recorded);
      return options.handler === undefined ? echo(request, recorded) : options.handler(request, recorded);
    },
  });
  const port = server.port ?? 0;
  return {
    port,
    origin: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    requests,
    connections: () => new Set(requests.map((r) => r.remotePort)).size,
    stop: () => server.stop(true),
  };
}

async function echo(request: Request, recorded: RecordedRequest): Promise<Response> {
  recorded.bodySize = await countBytes(request.body);
  return Response.json({
    authorization: request.headers.get("authorization"),
    host: request.headers.get("host"),
    method: request.method,
    path: recorded.path,
    bodySize: recorded.bodySize,
  });
}

/** Reads a body to the end without keeping it. */
export async function countBytes(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (body === null) return 0;
  const reader = body.getReader();
  let total = 0;
  for (let step = await reader.read(); !step.done; step = await reader.read()) total += step.value.byteLength;
  return total;
}

export interface Canary {
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/**
 * A TCP listener that only counts connections (and closes them). Point refused requests at it:
 * `connections() === 0` proves no check let anything reach an upstream.
 */
export async function startCanary(): Promise<Canary> {
  let count = 0;
  const server: NetServer = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    connections: () => count,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

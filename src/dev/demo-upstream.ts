/**
 * `surrogate dev`'s demo upstream API: an HTTPS echo (certificate from the demo CA) that answers
 * every request with the Authorization header it received. Seeing `Bearer demo-access-…` there,
 * while the agent only ever held a wrapper, is the point of the demo. It echoes a token on purpose
 * and is therefore only ever bound to loopback, and only started by `surrogate dev`.
 */

export interface DemoUpstreamOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  certPem: string;
  keyPem: string;
}

export interface DemoUpstream {
  port: number;
  stop(): Promise<void>;
}

export const DEMO_UPSTREAM_NOTE = "this is the demo upstream: it shows the real token surrogate injected";

export function startDemoUpstream(options: DemoUpstreamOptions): DemoUpstream {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    tls: { cert: options.certPem, key: options.keyPem },
    // Nothing is read from the body; a small cap keeps the echo from buffering large uploads.
    maxRequestBodySize: 1024 * 1024,
    fetch(request) {
      const url = new URL(request.url);
      return Response.json({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        authorization: request.headers.get("authorization"),
        note: DEMO_UPSTREAM_NOTE,
      });
    },
  });
  return { port: server.port ?? options.port, stop: () => server.stop(true) };
}

import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { authenticate } from "./authenticate.ts";
import { createDrain, type Drain } from "./drain.ts";
import { serveHttp1 } from "./http1/connection.ts";
import type { AgentHandler } from "./types.ts";

/** Well above what one process serves at once, well below the default descriptor limit of systemd units. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

export interface AgentServerLimits {
  /** Seconds to complete the TLS handshake and the request headers. */
  headersTimeout: number;
  /** Seconds a keep-alive connection may sit idle between requests. */
  idleTimeout: number;
  /** Seconds for a whole request, body included. */
  requestTimeout: number;
  /** Bytes of request line and headers. */
  maxHeaderSize: number;
  /** Open connections per process, handshakes included; further ones are closed at once. */
  maxConnections?: number;
}

export interface AgentServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** The trust bundle client certificates must chain to (e.g. the SPIFFE bundle). */
  clientCaPem: string;
  handler: AgentHandler;
  limits: AgentServerLimits;
  logger: Logger;
  now?: () => number;
  /** SO_REUSEPORT: several `--workers` processes accept on the same port (src/workers.ts). */
  reusePort?: boolean;
}

export interface AgentServer {
  port: number;
  /**
   * Stops accepting at once. Idle connections close; a request in flight gets up to `drainMs`
   * (default 0) to be answered, its connection closing right after; then every connection is cut.
   */
  close(drainMs?: number): Promise<void>;
  /** New connections use the new material; established ones keep theirs. */
  reloadTls(certPem: string, keyPem: string, clientCaPem: string): void;
}

/**
 * The agent port: node:tls with required client certificates (DESIGN §11: the Bun stack that exposes
 * the peer certificate per connection), serving HTTP/1.1 on each authenticated socket with the strict
 * parser in ./http1/ (node:http cost ~2.5× more CPU per request: docs/benchmarks.md).
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const bridge: Bridge = {
    options,
    clientCaPem: options.clientCaPem,
    sockets: new Set(),
    drain: createDrain(),
  };
  const tls = loadingTls(() =>
    createTlsServer({
      ...secureContext(options.certPem, options.keyPem, options.clientCaPem),
      // RFC 8705 §2: the client certificate is the credential; no certificate, no connection.
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: options.limits.headersTimeout * 1000,
    }),
  );
  // A connection costs a descriptor and memory before any certificate is seen: bound them, so
  // handshake-stalling clients cannot exhaust the process (each also times out after headersTimeout).
  tls.maxConnections = options.limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  tls.on("secureConnection", (socket: TLSSocket) => admit(bridge, socket));
  tls.on("tlsClientError", (error: NodeJS.ErrnoException, socket) => {
    options.logger.audit("auth.failed", {
      reason: "tls_handshake",
      detail: error.code,
      remote: socket.remoteAddress,
    });
    // Bun 1.4.5 reports ERR_TLS_HANDSHAKE_TIMEOUT here but leaves the socket open (verified): a
    // client that never completes its handshake would otherwise hold a connection forever.
    socket.destroy();
  });
  await listen(tls, options.host, options.port, options.reusePort === true);
  return {
    port: boundPort(tls),
    close: (drainMs = 0) => close(tls, bridge, drainMs),
    reloadTls(certPem, keyPem, clientCaPem) {
      const context = secureContext(certPem, keyPem, clientCaPem);
      loadingTls(() => tls.setSecureContext(context));
      // Connections whose handshake completes from now on are checked against the new bundle.
      bridge.clientCaPem = clientCaPem;
    },
  };
}

interface Bridge {
  options: AgentServerOptions;
  clientCaPem: string;
  sockets: Set<TLSSocket>;
  drain: Drain;
}

/** Serves a TLS connection only once its client certificate passed the in-code check too. */
function admit(bridge: Bridge, socket: TLSSocket): void {
  const { options } = bridge;
  const result = authenticate(socket, bridge.clientCaPem, new Date((options.now ?? Date.now)()));
  if (!result.ok) {
    // Reason codes and our own messages only: never certificate bytes or subject text.
    options.logger.audit("auth.failed", {
      reason: result.reason,
      detail: result.detail,
      remote: socket.remoteAddress,
    });
    socket.destroy();
    return;
  }
  const { limits } = options;
  bridge.sockets.add(socket);
  socket.once("close", () => bridge.sockets.delete(socket));
  serveHttp1(socket, {
    handler: options.handler,
    client: result.identity,
    maxHeaderSize: limits.maxHeaderSize,
    deadlines: {
      headers: limits.headersTimeout * 1000,
      idle: limits.idleTimeout * 1000,
      request: limits.requestTimeout * 1000,
    },
    logger: options.logger,
    onRequest: bridge.drain.watch(socket),
  });
}

/** OpenSSL errors for unusable PEM become a config error naming the setting. */
function loadingTls<T>(load: () => T): T {
  try {
    return load();
  } catch (cause) {
    throw new ConfigError("agent.tls_cert", "the certificate, key or client CA could not be loaded", {
      cause,
    });
  }
}

function secureContext(cert: string, key: string, ca: string) {
  if (!/-----BEGIN CERTIFICATE-----/.test(ca))
    throw new ConfigError("agent.client_ca", "no PEM certificate found");
  return { cert, key, ca, minVersion: "TLSv1.2" as const };
}

function listen(
  server: ReturnType<typeof createTlsServer>,
  host: string,
  port: number,
  reusePort: boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function boundPort(server: ReturnType<typeof createTlsServer>): number {
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : 0;
}

/** Stops accepting, lets requests in flight finish within `drainMs` (./drain.ts), then cuts the rest. */
async function close(server: ReturnType<typeof createTlsServer>, bridge: Bridge, drainMs: number) {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await bridge.drain.close(bridge.sockets, drainMs);
  await closed;
}

import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { ConfigError } from "../errors.ts";
import type { ClientIdentity } from "../identity/types.ts";
import type { Logger } from "../log/logger.ts";
import { authenticate } from "./authenticate.ts";
import { guardConnection } from "./deadlines.ts";
import { toAgentRequest } from "./request.ts";
import { writeResponse, writeServerError } from "./response.ts";
import type { AgentHandler } from "./types.ts";

export interface AgentServerLimits {
  /** Seconds to complete the TLS handshake and the request headers. */
  headersTimeout: number;
  /** Seconds a keep-alive connection may sit idle between requests. */
  idleTimeout: number;
  /** Seconds for a whole request, body included. */
  requestTimeout: number;
  /** Bytes of request line and headers. */
  maxHeaderSize: number;
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
}

/** What is known about an authenticated connection: computed once, at the handshake. */
interface Connection {
  identity: ClientIdentity;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface AgentServer {
  port: number;
  close(): Promise<void>;
  /** New connections use the new material; established ones keep theirs. */
  reloadTls(certPem: string, keyPem: string, clientCaPem: string): void;
}

/**
 * The agent port: node:tls with required client certificates, handing authenticated sockets to
 * node:http (DESIGN §11: the only Bun stack that exposes the peer certificate per connection).
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const bridge: Bridge = {
    options,
    clientCaPem: options.clientCaPem,
    connections: new WeakMap(),
    sockets: new Set(),
    http: createBridgedHttp(options, (socket) => bridge.connections.get(socket)),
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
  tls.on("secureConnection", (socket: TLSSocket) => admit(bridge, socket));
  tls.on("tlsClientError", (error: NodeJS.ErrnoException, socket) => {
    options.logger.audit("auth.failed", {
      reason: "tls_handshake",
      detail: error.code,
      remote: socket.remoteAddress,
    });
  });
  await listen(tls, options.host, options.port);
  return {
    port: boundPort(tls),
    close: () => close(tls, bridge.sockets),
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
  connections: WeakMap<Socket, Connection>;
  sockets: Set<TLSSocket>;
  http: HttpServer;
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
  const deadlines = {
    headers: limits.headersTimeout * 1000,
    idle: limits.idleTimeout * 1000,
    request: limits.requestTimeout * 1000,
  };
  bridge.connections.set(socket, {
    identity: result.identity,
    onRequest: guardConnection(socket, deadlines),
  });
  bridge.sockets.add(socket);
  socket.once("close", () => bridge.sockets.delete(socket));
  bridge.http.emit("connection", socket);
}

function createBridgedHttp(
  options: AgentServerOptions,
  lookup: (socket: Socket) => Connection | undefined,
): HttpServer {
  const { limits, logger } = options;
  const http = createHttpServer({ maxHeaderSize: limits.maxHeaderSize }, (req, res) => {
    const connection = lookup(req.socket);
    connection?.onRequest(req, res);
    void serve(req, res, connection?.identity, options.handler, logger);
  });
  // Set for when Bun applies them to bridged sockets; ./deadlines.ts enforces them meanwhile.
  http.headersTimeout = limits.headersTimeout * 1000;
  http.requestTimeout = limits.requestTimeout * 1000;
  http.keepAliveTimeout = limits.idleTimeout * 1000;
  http.on("clientError", (error: NodeJS.ErrnoException, socket) => rejectMalformed(error, socket));
  return http;
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

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  client: ClientIdentity | undefined,
  handler: AgentHandler,
  logger: Logger,
): Promise<void> {
  // Only authenticated sockets reach node:http; a request without an identity is a bug, not a client.
  if (client === undefined) {
    req.socket.destroy();
    return;
  }
  const request = toAgentRequest(req, res, client);
  let response: Response;
  try {
    response = await handler(request);
  } catch (error) {
    logger.error("agent.handler_failed", { error: error instanceof Error ? error.name : "unknown" });
    if (!res.headersSent) writeServerError(res);
    return;
  }
  try {
    await writeResponse(res, response, request.method);
  } catch (error) {
    // Headers are out already: the only honest signal left is cutting the connection.
    logger.error("agent.response_failed", { error: error instanceof Error ? error.name : "unknown" });
    res.destroy();
  }
}

/** Answers a request node:http could not parse (RFC 9110 §15.5, RFC 6585 §5) and closes. */
function rejectMalformed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "431 Request Header Fields Too Large"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : "400 Bad Request";
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function secureContext(cert: string, key: string, ca: string) {
  if (!/-----BEGIN CERTIFICATE-----/.test(ca))
    throw new ConfigError("agent.client_ca", "no PEM certificate found");
  return { cert, key, ca, minVersion: "TLSv1.2" as const };
}

function listen(server: ReturnType<typeof createTlsServer>, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function boundPort(server: ReturnType<typeof createTlsServer>): number {
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : 0;
}

/** Stops accepting and cuts open connections: shutdown drains at the load balancer, not here. */
function close(server: ReturnType<typeof createTlsServer>, sockets: Set<TLSSocket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

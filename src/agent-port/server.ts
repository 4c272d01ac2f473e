import type { SocketHandler, TCPSocketListener, TCPSocketListenOptions } from "bun";
import { ConfigError } from "../core/errors.ts";
import type { ClientTrust } from "../core/identity/trust.ts";
import type { Logger } from "../ops/log/logger.ts";
import { authenticate } from "./authenticate.ts";
import { ConnectionBudget, type Refusal, type Ticket } from "./connection-budget.ts";
import { createDrain, type Drain } from "./drain.ts";
import { serveHttp1 } from "./http1/connection.ts";
import { AgentSocket } from "./http1/socket.ts";
import type { AgentHandler } from "./http1/types.ts";
import { createRefusalLog, type RefusalLog } from "./refusal-log.ts";

/** Well above what one process serves at once, well below the default descriptor limit of systemd units. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** The handshake budget's defaults (./connection-budget.ts): seconds, per source, in total. */
export const DEFAULT_HANDSHAKE = { timeout: 5, perAddress: 32, pending: 1_000 };

export interface AgentServerLimits {
  /** Seconds from accepting a connection to its authenticated handshake. */
  handshakeTimeout?: number;
  /** Seconds to receive a request's headers. */
  headersTimeout: number;
  /** Seconds a keep-alive connection may sit idle between requests. */
  idleTimeout: number;
  /** Seconds for a whole request, body included. */
  requestTimeout: number;
  /** Bytes of request line and headers. */
  maxHeaderSize: number;
  /** Authenticated connections per process; further ones are closed at once. */
  maxConnections?: number;
  /** Connections still in their handshake, per source address (IPv6: per /64) and in total. */
  maxHandshakesPerAddress?: number;
  maxPendingHandshakes?: number;
  /** Seconds a connection may serve requests before it is closed after its current response. */
  maxConnectionAge?: number;
}

/** One hour: reloaded bundles and revocations reach every client within it (`agent.max_connection_age`). */
export const DEFAULT_MAX_CONNECTION_AGE = 3600;

export interface AgentServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** Who may connect: the client CA and trust-domain bundles (src/core/identity/trust.ts). */
  trust: ClientTrust;
  handler: AgentHandler;
  limits: AgentServerLimits;
  logger: Logger;
  now?: () => number;
  /** SO_REUSEPORT: several `--workers` processes accept on the same port (src/app/workers.ts). */
  reusePort?: boolean;
  /** Counts each refused connection (the metrics); the log gets at most one line per source a minute. */
  countRefusal?: (reason: Refusal) => void;
}

export interface AgentServer {
  port: number;
  /**
   * Stops accepting at once. Idle connections close; a request in flight gets up to `drainMs`
   * (default 0) to be answered, its connection closing right after; then every connection is cut.
   */
  close(drainMs?: number): Promise<void>;
  /** New connections use the new material; established ones keep theirs. */
  reloadTls(certPem: string, keyPem: string, trust: ClientTrust): void;
}

/**
 * The agent port: Bun.listen with TLS and required client certificates, serving HTTP/1.1 on each
 * authenticated socket with the strict parser in ./http1/. Bun.listen exposes the peer certificate
 * (Bun.serve does not, DESIGN §11) and costs far less per request than node:tls and node:http
 * (docs/benchmarks.md, "Proxy vs nginx").
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const { limits } = options;
  const bridge: Bridge = {
    options,
    trust: options.trust,
    sockets: new Set(),
    drain: createDrain(),
    budget: new ConnectionBudget({
      maxConnections: limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      perSource: limits.maxHandshakesPerAddress ?? DEFAULT_HANDSHAKE.perAddress,
      pending: limits.maxPendingHandshakes ?? DEFAULT_HANDSHAKE.pending,
    }),
    refusals: createRefusalLog(options.logger, options.now ?? Date.now, options.countRefusal),
  };
  const tls = { cert: options.certPem, key: options.keyPem, ca: options.trust.pem };
  if (options.reusePort !== true && options.port !== 0) refuseSharedPort(options.host, options.port);
  let listener = listen(bridge, options.host, options.port, tls);
  return {
    port: listener.port,
    close: (drainMs = 0) => close(listener, bridge, drainMs),
    reloadTls(certPem, keyPem, trust) {
      const next = listen(bridge, options.host, listener.port, { cert: certPem, key: keyPem, ca: trust.pem });
      // Connections whose handshake completes from now on are checked against the new bundles.
      bridge.trust = trust;
      // Established connections belong to no listener: stopping the old one leaves them be.
      listener.stop(false);
      listener = next;
    },
  };
}

interface Bridge {
  options: AgentServerOptions;
  trust: ClientTrust;
  sockets: Set<AgentSocket>;
  drain: Drain;
  budget: ConnectionBudget;
  refusals: RefusalLog;
}

interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

/**
 * Always SO_REUSEPORT: a reload binds a listener with the new certificates next to the old one
 * before the old one stops, so no connection attempt meets a closed port.
 */
function listen(bridge: Bridge, host: string, port: number, tls: TlsMaterial): TCPSocketListener<Slot> {
  // `reusePort` works on Bun.listen (verified in 1.4.5) but is missing from its typings.
  const listenOptions: TCPSocketListenOptions<Slot> & { reusePort: boolean } = {
    hostname: host,
    port,
    reusePort: true,
    // allowHalfOpen stays false: a client's FIN closes the connection and aborts its request.
    // RFC 8705 §2: the client certificate is the credential; no certificate, no connection.
    // Bun's TLS refuses anything below TLS 1.2 (tested in test/security/mtls.test.ts).
    tls: { ...tls, requestCert: true, rejectUnauthorized: true },
    socket: handlers(bridge),
  };
  return loadingTls(() => Bun.listen<Slot>(listenOptions));
}

/** What each raw socket carries: its connection, once accepted. */
interface Slot {
  socket?: AgentSocket;
  ticket?: Ticket;
  handshake?: ReturnType<typeof setTimeout>;
}

function handlers(bridge: Bridge): SocketHandler<Slot> {
  const { options } = bridge;
  return {
    open(raw) {
      const ticket = bridge.budget.open(raw.remoteAddress);
      if (typeof ticket === "string") {
        bridge.refusals.refused(ticket, raw.remoteAddress);
        raw.terminate();
        return;
      }
      const socket = new AgentSocket(raw);
      const timeout = options.limits.handshakeTimeout ?? DEFAULT_HANDSHAKE.timeout;
      const expire = () => {
        bridge.refusals.refused("handshake_timeout", raw.remoteAddress);
        socket.destroy();
      };
      raw.data = { socket, ticket, handshake: setTimeout(expire, timeout * 1000) };
      bridge.sockets.add(socket);
    },
    handshake(raw, success, error) {
      const slot = raw.data;
      clearTimeout(slot?.handshake);
      if (slot?.socket === undefined) return;
      if (!success) {
        slot.ticket?.release();
        options.logger.audit("auth.failed", {
          reason: "tls_handshake",
          detail: handshakeDetail(error),
          remote: raw.remoteAddress,
        });
        slot.socket.destroy();
        return;
      }
      admit(bridge, slot.socket, slot.ticket);
    },
    data(raw, chunk) {
      raw.data?.socket?.receive(chunk);
    },
    drain(raw) {
      raw.data?.socket?.flush();
    },
    error(raw) {
      raw.data?.socket?.destroy();
    },
    close(raw) {
      const slot = raw.data;
      if (slot?.socket === undefined) return;
      clearTimeout(slot.handshake);
      slot.ticket?.release();
      bridge.sockets.delete(slot.socket);
      slot.socket.closed();
    },
  };
}

/** OpenSSL's reason (e.g. PEER_DID_NOT_RETURN_A_CERTIFICATE): a fixed vocabulary, no peer bytes. */
function handshakeDetail(error: Error | null): string | undefined {
  const reason = error?.message.match(/:([A-Z0-9_]+)$/)?.[1];
  return reason ?? (error === null ? undefined : "handshake_failed");
}

/** Serves a TLS connection only once its client certificate passed the in-code check too. */
function admit(bridge: Bridge, socket: AgentSocket, ticket: Ticket | undefined): void {
  const { options } = bridge;
  const result = authenticate(socket.raw, bridge.trust, new Date((options.now ?? Date.now)()));
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
  const full = ticket?.promote();
  if (full !== undefined) {
    bridge.refusals.refused(full, socket.remoteAddress);
    socket.destroy();
    return;
  }
  const { limits } = options;
  serveHttp1(socket, {
    handler: options.handler,
    client: result.identity,
    maxHeaderSize: limits.maxHeaderSize,
    deadlines: {
      headers: limits.headersTimeout * 1000,
      idle: limits.idleTimeout * 1000,
      request: limits.requestTimeout * 1000,
      age: (limits.maxConnectionAge ?? DEFAULT_MAX_CONNECTION_AGE) * 1000,
    },
    logger: options.logger,
    onRequest: bridge.drain.watch(socket),
  });
}

/**
 * The agent port listens with SO_REUSEPORT (for reloads), which would let a second surrogate on
 * the same port silently share its connections. Unless `--workers` asked for exactly that, the
 * port must be free: a plain bind fails when anyone holds it.
 */
function refuseSharedPort(host: string, port: number): void {
  const probe = Bun.listen({ hostname: host, port, socket: { data() {} } });
  probe.stop(true);
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

/** Stops accepting, lets requests in flight finish within `drainMs` (./drain.ts), then cuts the rest. */
async function close(listener: TCPSocketListener<Slot>, bridge: Bridge, drainMs: number) {
  listener.stop(false);
  await bridge.drain.close(bridge.sockets, drainMs);
}

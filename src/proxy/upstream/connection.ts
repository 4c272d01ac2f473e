/**
 * One TCP or TLS connection to an upstream, wrapping a Bun socket: opening it (verifying TLS before
 * anything is written), writing with back-pressure, and routing reads and the close to whichever
 * exchange currently owns it. Bun's socket handlers are one shared object; `socket.data` is the
 * Connection, so no closure is allocated per connection.
 */

import type { Socket, SocketHandler } from "bun";
import { UpstreamClosedError, UpstreamConnectError } from "./errors.ts";
import type { Target } from "./target.ts";

/** What an exchange gets from the connection it owns. */
export interface ConnectionListener {
  onData(bytes: Buffer): void;
  /** `clean`: the upstream half-closed (FIN) before the connection went; otherwise reset or failed. */
  onClose(clean: boolean, cause: Error | undefined): void;
  /** The socket's own idle timeout (`setTimeout`) fired. */
  onTimeout?(): void;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

const HANDLERS: SocketHandler<Connection> = {
  open: (socket) => socket.data.onOpen(socket),
  data: (socket, bytes) => socket.data.onData(bytes),
  drain: (socket) => socket.data.onDrain(),
  end: (socket) => socket.data.onEnd(),
  error: (socket, error) => socket.data.onError(error),
  close: (socket, error) => socket.data.onClose(error),
  connectError: (socket, error) => socket.data.onConnectError(error),
  timeout: (socket) => socket.data.onTimeout(),
};

export class Connection {
  closed = false;
  /** performance.now() when it was last returned to the pool. */
  idleSince = 0;
  /** Called when the upstream closes the connection while no exchange owns it (pool removal). */
  onIdleClose: ((connection: Connection) => void) | undefined;
  #socket: Socket<Connection> | undefined;
  #opening: Waiter | undefined;
  #listener: ConnectionListener | undefined;
  #unwritten: Uint8Array | undefined;
  #drain: Waiter | undefined;
  #ended = false;
  #error: Error | undefined;

  constructor(
    readonly origin: string,
    private readonly secure: boolean,
  ) {}

  /** Connects; resolves once TLS is verified (or TCP is up). Rejects with UpstreamConnectError. */
  static open(target: Target, ca: string[] | undefined): { connection: Connection; opened: Promise<void> } {
    const connection = new Connection(target.origin, target.secure);
    const opened = new Promise<void>((resolve, reject) => {
      connection.#opening = { resolve, reject };
    });
    const tls = target.secure ? { tls: tlsOptions(target, ca) } : {};
    try {
      Bun.connect({
        hostname: target.hostname,
        port: target.port,
        data: connection,
        socket: HANDLERS,
        ...tls,
      }).then(
        (socket) => connection.#onConnected(socket),
        (error: unknown) => connection.onConnectError(error),
      );
    } catch (error) {
      connection.onConnectError(error);
    }
    return { connection, opened };
  }

  attach(listener: ConnectionListener): void {
    this.#listener = listener;
  }

  detach(): void {
    this.#listener = undefined;
  }

  /**
   * Writes all of `bytes` (a string is written as UTF-8: callers pass ASCII only). Bun's `write`
   * takes what the kernel (or TLS layer) accepts and buffers nothing, so the remainder is kept and
   * flushed on `drain`; the returned promise (undefined when everything went at once) settles when
   * the socket has taken the last byte.
   */
  write(bytes: string | Uint8Array): Promise<void> | undefined {
    const written = this.closed || this.#socket === undefined ? -1 : this.#socket.write(bytes);
    if (written < 0) throw new UpstreamClosedError("upstream client: the connection closed while sending");
    const size = typeof bytes === "string" ? bytes.length : bytes.byteLength;
    if (written === size) return undefined;
    const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    this.#unwritten = buffer.subarray(written);
    return new Promise<void>((resolve, reject) => {
      this.#drain = { resolve, reject };
    });
  }

  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  /**
   * The socket's own idle timeout, in whole seconds (0: none), instead of a timer per request. Bun
   * does not restart it on reads, so the owner calls this again as bytes arrive; its clock ticks
   * in steps of a few seconds, so a timeout fires between `seconds` and about 4 s later.
   */
  setTimeout(seconds: number): void {
    this.#socket?.timeout(seconds);
  }

  onTimeout(): void {
    if (this.#listener?.onTimeout !== undefined) this.#listener.onTimeout();
    else this.destroy();
  }

  /** A pooled connection does not keep the process alive; one in use does. */
  setActive(active: boolean): void {
    if (active) this.#socket?.ref();
    else this.#socket?.unref();
  }

  /** Graceful close (FIN) for a connection nobody is using. */
  close(): void {
    if (this.#markClosed()) this.#socket?.end();
  }

  /** Immediate close (RST): the exchange on it was abandoned mid-way, nothing on it is worth finishing. */
  destroy(): void {
    if (this.#markClosed()) this.#socket?.terminate();
  }

  /** Returns false if already closed. Detaches first: a close we cause is not reported back to us. */
  #markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.#listener = undefined;
    this.#settleDrain(new UpstreamClosedError("upstream client: the connection was closed"));
    this.#opening?.reject(new UpstreamConnectError("upstream client: the connection was abandoned"));
    this.#opening = undefined;
    return true;
  }

  /**
   * Bun resolves `connect` once TCP is up, before the TLS handshake: the socket is kept only so an
   * abort during the handshake can close it. Nothing is written until `onOpen`.
   */
  #onConnected(socket: Socket<Connection>): void {
    this.#socket ??= socket;
    if (this.closed) socket.terminate();
  }

  onOpen(socket: Socket<Connection>): void {
    this.#socket = socket;
    if (this.closed) {
      socket.terminate();
      return;
    }
    // With no `handshake` handler Bun calls `open` only after the TLS handshake, but it calls it even
    // when verification failed (Bun 1.4.5, rejectUnauthorized notwithstanding): `authorized` decides.
    if (this.secure && socket.authorized !== true) {
      const reason = (socket.getAuthorizationError() as NodeJS.ErrnoException | null)?.code;
      this.#failOpen(
        `upstream client: the upstream's TLS certificate was not verified${reason ? ` (${reason})` : ""}`,
      );
      return;
    }
    this.#opening?.resolve();
    this.#opening = undefined;
  }

  onConnectError(cause: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.#opening?.reject(
      new UpstreamConnectError("upstream client: could not connect to the upstream", { cause }),
    );
    this.#opening = undefined;
  }

  onData(bytes: Buffer): void {
    if (this.#listener !== undefined) this.#listener.onData(bytes);
    // RFC 9112 §9.3: bytes on an idle connection answer no request; it cannot be trusted any more.
    else if (!this.closed) {
      this.destroy();
      this.onIdleClose?.(this);
    }
  }

  onDrain(): void {
    const socket = this.#socket;
    const unwritten = this.#unwritten;
    if (socket === undefined || unwritten === undefined) return;
    const written = socket.write(unwritten);
    if (written < 0) return; // the close handler settles the waiter
    if (written < unwritten.byteLength) {
      this.#unwritten = unwritten.subarray(written);
      return;
    }
    this.#settleDrain(undefined);
  }

  onEnd(): void {
    this.#ended = true;
  }

  onError(error: Error): void {
    this.#error ??= error;
  }

  onClose(error: Error | undefined): void {
    const cause = error ?? this.#error;
    if (this.#opening !== undefined) {
      this.closed = true;
      this.#opening.reject(
        new UpstreamConnectError("upstream client: the connection closed while opening", { cause }),
      );
      this.#opening = undefined;
      return;
    }
    if (this.closed) return;
    this.closed = true;
    this.#settleDrain(
      new UpstreamClosedError("upstream client: the connection closed while sending", { cause }),
    );
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) listener.onClose(this.#ended && cause === undefined, cause);
    else this.onIdleClose?.(this);
  }

  #failOpen(message: string): void {
    const opening = this.#opening;
    this.#opening = undefined;
    this.destroy();
    opening?.reject(new UpstreamConnectError(message));
  }

  #settleDrain(error: Error | undefined): void {
    const waiter = this.#drain;
    this.#drain = undefined;
    this.#unwritten = undefined;
    if (error === undefined) waiter?.resolve();
    else waiter?.reject(error);
  }
}

/**
 * Verification as fetch does it, never weaker (DESIGN §2): the given trust anchors or Bun's default
 * store, and the name checked against the certificate. Bun verifies against a non-empty `serverName`,
 * otherwise against the hostname; and it sends the hostname as SNI unless `serverName` is "" (Bun
 * 1.4.5, verified). So an IP literal gets "": no SNI (RFC 6066 §3 forbids IP literals there) while
 * the certificate must still carry that IP.
 */
function tlsOptions(target: Target, ca: string[] | undefined) {
  return {
    rejectUnauthorized: true,
    serverName: target.serverName ?? "",
    ...(ca === undefined ? {} : { ca }),
  };
}

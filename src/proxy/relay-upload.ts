/**
 * The request-body side of the byte relay (./relay.ts): the agent's decoded body bytes, as the agent
 * port's framing delivers them, written onto the upstream connection behind the request head —
 * re-framed as chunks when the head says chunked, exactly the announced length otherwise — with
 * back-pressure: while the upstream socket holds unwritten bytes, the agent's socket is not read.
 * Nothing is buffered beyond what one read of the agent's socket brings.
 */
import type { RelayBody, RelayUpload } from "../agent-port/http1/types.ts";
import type { Connection } from "./upstream/connection.ts";
import type { RequestFraming } from "./upstream/request-head.ts";

const CRLF = Buffer.from("\r\n", "latin1");
/** RFC 9112 §7.1: last-chunk, no trailer section, final CRLF. */
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

export interface UploadOwner {
  /** Re-arms the upstream's silence timeout: bytes are moving. */
  touch(): void;
  /** The agent's body cannot be delimited, or it broke its Content-Length: the request is void. */
  broken(): void;
}

export class Upload implements RelayUpload {
  #connection: Connection | undefined;
  /** Bytes that arrived while the upstream could not take them (not connected, or a write waits). */
  #queue: Uint8Array[] = [];
  #waiting = false;
  /** The agent's body arrived whole. */
  #ended = false;
  /** The body's end is written (or, with a Content-Length, needs no bytes). */
  #last = false;
  /** Every byte of the request, last chunk included, was handed to the upstream socket. */
  #complete = false;
  #stopped = false;
  /** Body bytes handed to the upstream socket (0: the request may still be sent again elsewhere). */
  #sent = 0;
  /** Body bytes the agent delivered. */
  #received = 0;
  readonly #length: number | undefined;

  constructor(
    framing: RequestFraming,
    private readonly body: RelayBody,
    private readonly owner: UploadOwner,
  ) {
    this.#length = framing.kind === "length" ? framing.length : undefined;
  }

  /** The whole request (head and body) is on the upstream socket. */
  get complete(): boolean {
    return this.#complete;
  }

  /** No byte of the body has been written upstream: sending the request again loses nothing. */
  get untouched(): boolean {
    return this.#sent === 0;
  }

  /** The agent's whole body was read (so its connection can carry another request). */
  get received(): boolean {
    return this.#ended;
  }

  /**
   * The head went onto `connection` (`pending`: it waits in the socket); the body may follow. Called
   * again with a fresh connection when an untouched request is retried.
   */
  start(connection: Connection, pending: Promise<void> | undefined): void {
    this.#connection = connection;
    this.#waiting = false;
    this.#last = false;
    this.#complete = false;
    if (pending === undefined) this.#flush();
    else this.#wait(pending);
  }

  push(data: Uint8Array): void {
    if (this.#stopped || data.byteLength === 0) return;
    this.#received += data.byteLength;
    if (this.#length !== undefined && this.#received > this.#length) {
      // The agent port's framing never delivers more than the length; refused if it ever did.
      this.broken();
      return;
    }
    this.#queue.push(data);
    if (this.#connection === undefined || this.#waiting) this.body.pause();
    else this.#flush();
  }

  end(): void {
    if (this.#stopped) return;
    this.#ended = true;
    if (this.#length !== undefined && this.#received !== this.#length) {
      this.broken();
      return;
    }
    if (this.#connection !== undefined && !this.#waiting) this.#flush();
  }

  broken(): void {
    if (this.#stopped) return;
    this.stop();
    this.owner.broken();
  }

  /** The exchange is over (answered, failed or aborted): nothing more is written or read. */
  stop(): void {
    this.#stopped = true;
    this.#queue = [];
  }

  /** Writes what waits, then asks the agent for more (the first time: `100 Continue`). */
  #flush(): void {
    const connection = this.#connection as Connection;
    while (!this.#stopped) {
      const data = this.#queue.shift();
      let pending: Promise<void> | undefined;
      try {
        if (data !== undefined) pending = this.#write(connection, data);
        else if (this.#ended && !this.#last) pending = this.#finish(connection);
        else break;
      } catch {
        return; // the connection closed: its close handler reports it
      }
      if (pending !== undefined) {
        this.#wait(pending);
        return;
      }
    }
    if (!this.#stopped && !this.#ended) this.body.resume();
  }

  #write(connection: Connection, data: Uint8Array): Promise<void> | undefined {
    this.#sent += data.byteLength;
    this.owner.touch();
    // A zero-size chunk would read as the last chunk (RFC 9112 §7.1); push never queues one.
    if (this.#length !== undefined) return connection.write(data);
    return connection.write(Buffer.concat([Buffer.from(`${data.byteLength.toString(16)}\r\n`), data, CRLF]));
  }

  #finish(connection: Connection): Promise<void> | undefined {
    this.#last = true;
    const pending = this.#length === undefined ? connection.write(LAST_CHUNK) : undefined;
    if (pending === undefined) this.#complete = true;
    return pending;
  }

  /** The upstream socket holds bytes: the agent waits until it drained. */
  #wait(pending: Promise<void>): void {
    this.#waiting = true;
    this.body.pause();
    pending.then(
      () => {
        if (this.#stopped) return;
        this.#waiting = false;
        this.owner.touch();
        if (this.#last) this.#complete = true;
        else this.#flush();
      },
      () => undefined, // the connection closed: its close handler reports it
    );
  }
}

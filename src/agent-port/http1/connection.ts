import type { ClientIdentity } from "../../core/identity/types.ts";
import type { Logger } from "../../ops/log/logger.ts";
import { agentRequest } from "./agent-request.ts";
import { IncomingBody, type ReceivingBody, RelayedBody } from "./body.ts";
import { type Framing, HeadError, HeadParser, type RequestHead } from "./head.ts";
import type { AgentSocket } from "./socket.ts";
import { Deadline } from "./timer.ts";
import type { AgentHandler, AgentRequest, RelayBody, RelayCall, RelayUpload } from "./types.ts";
import { serverErrorBytes, writeResponse } from "./writer.ts";

export interface Http1Options {
  handler: AgentHandler;
  client: ClientIdentity;
  /** Bytes of request line and headers (RFC 9112 §2.3: too large → 431). */
  maxHeaderSize: number;
  /**
   * Milliseconds: handshake + first head, one whole request, an idle kept-alive connection, and the
   * connection's whole life (after which it closes once no response is in flight).
   */
  deadlines: { headers: number; request: number; idle: number; age: number };
  logger: Logger;
  /** Told when a request starts and when its response is completely written (graceful drain). */
  onRequest?: (active: boolean) => void;
}

const END_OF_HEAD = Buffer.from("\r\n\r\n");
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/**
 * Serves HTTP/1.1 on an authenticated TLS socket, one request at a time: pipelined requests wait in
 * the buffer until the response before them is complete (RFC 9112 §9.3.2), so responses can never
 * be reordered. Replaces node:http on the agent port; see ./head.ts for what is refused.
 */
export function serveHttp1(socket: AgentSocket, options: Http1Options): void {
  new Http1Connection(socket, options).start();
}

class Http1Connection {
  /** Bytes received but not yet part of a request being served. */
  #pending: Buffer | undefined;
  #phase: "head" | "body" | "busy" | "closing" = "head";
  #body: ReceivingBody | undefined;
  /** Set when the body cannot be read to its end: close once the response is out. */
  #mustClose = false;
  #expectContinue = false;
  /** Aborts the request in flight when the connection closes before its response is out. */
  #inFlight: AbortController | undefined;
  /** The same for a request the handler's relay took on. */
  #relayed: RelayCall | undefined;
  readonly #heads = new HeadParser();
  readonly #deadline: Deadline;
  /** `deadlines.age`: once passed, the connection closes gracefully (`agent.max_connection_age`). */
  readonly #age: Deadline;

  constructor(
    private readonly socket: AgentSocket,
    private readonly options: Http1Options,
  ) {
    this.#deadline = new Deadline(() => socket.destroy());
    this.#age = new Deadline(() => this.#retire());
  }

  start(): void {
    this.#deadline.set(this.options.deadlines.headers);
    this.#age.set(this.options.deadlines.age);
    this.socket.onceClosed(() => {
      this.#deadline.clear();
      this.#age.clear();
      this.#body?.fail(new Error("client closed the connection"));
      this.#inFlight?.abort(new Error("client disconnected"));
      this.#relayed?.abort();
    });
    this.socket.attach((chunk) => this.#onData(chunk));
  }

  /**
   * The connection has lived `agent.max_connection_age`: a reloaded bundle or a revocation only
   * reaches clients when they reconnect. Idle, it closes now; busy, after the response in flight
   * (which then says `Connection: close`, RFC 9112 §9.6), so no request is cut.
   */
  #retire(): void {
    this.#mustClose = true;
    if (this.#phase === "head" && this.#pending === undefined) this.#close();
  }

  #close(): void {
    this.#phase = "closing";
    this.#deadline.set(this.options.deadlines.idle);
    this.socket.end();
  }

  #onData(chunk: Buffer): void {
    // Ended by us (drain, or after a last response): a request read now could never be answered.
    if (this.#phase === "closing" || this.socket.writableEnded) return;
    if (this.#phase === "body") {
      this.#feedBody(chunk);
      return;
    }
    if (this.#pending === undefined && this.#phase === "head") {
      // The first byte of a request: from now on the head must complete within the headers limit.
      this.#deadline.set(this.options.deadlines.headers);
    }
    this.#pending = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#phase === "head") this.#nextHead();
    else if (this.#pending.length > this.options.maxHeaderSize) this.socket.pause(); // pipelined, waiting
  }

  /** Takes the next request head from the buffer, if complete. */
  #nextHead(): void {
    const buffer = this.#pending;
    if (buffer === undefined) return;
    const end = buffer.indexOf(END_OF_HEAD);
    const limit = this.options.maxHeaderSize;
    if (end < 0 ? buffer.length > limit : end + 4 > limit) {
      this.#refuse(431);
      return;
    }
    if (end < 0) return;
    let head: RequestHead;
    try {
      head = this.#heads.parse(buffer.toString("latin1", 0, end));
    } catch (error) {
      this.#refuse(error instanceof HeadError ? error.status : 400);
      return;
    }
    const rest = buffer.length > end + 4 ? buffer.subarray(end + 4) : undefined;
    this.#pending = undefined;
    // RFC 9110 §9.3.6: CONNECT asks for a tunnel, which this port never opens; closed unanswered.
    if (head.method === "CONNECT") return void this.socket.destroy();
    this.#begin(head, rest);
  }

  #begin(head: RequestHead, rest: Buffer | undefined): void {
    this.#deadline.set(this.options.deadlines.request);
    this.options.onRequest?.(true);
    this.#mustClose = !head.keepAlive;
    this.#expectContinue = head.expectContinue;
    const { framing } = head;
    this.#phase = framing.kind === "none" ? "busy" : "body";
    // A relayed body is read once the relay wants it (RelayBody.resume, maybe before it returns).
    if (framing.kind !== "none") this.socket.pause();
    const relayed = this.#offerRelay(head);
    if (relayed !== undefined) {
      this.#relayed = relayed;
      if (framing.kind !== "none") this.#body = new RelayedBody(framing, relayed.upload as RelayUpload);
      if (rest !== undefined) this.#onData(rest);
      void this.#serve(relayed.done, head);
      return;
    }
    if (framing.kind !== "none") this.socket.resume();
    const body = framing.kind === "none" ? undefined : this.#incomingBody(framing);
    this.#body = body;
    this.#inFlight = new AbortController();
    const request = agentRequest(head, body?.stream ?? null, this.#inFlight.signal, this.options.client);
    if (rest !== undefined) this.#onData(rest);
    void this.#serve(this.#handle(request), head);
  }

  #incomingBody(framing: Exclude<Framing, { kind: "none" }>): IncomingBody {
    const { socket } = this;
    return new IncomingBody(framing, {
      pause: () => socket.pause(),
      resume: () => this.#resumeBody(),
      abandon: () => {
        this.#mustClose = true;
      },
    });
  }

  /** A request goes to the handler's byte relay when it takes it (no AgentRequest, no Response). */
  #offerRelay(head: RequestHead): RelayCall | undefined {
    const relay = this.options.handler.relay;
    if (relay === undefined) return undefined;
    const { method, target, rawHeaders, minor, framing } = head;
    const request = {
      method,
      target,
      rawHeaders,
      minor,
      keepAlive: !this.#mustClose,
      client: this.options.client,
      body: framing.kind === "none" ? undefined : this.#relayBody(framing),
    };
    return relay(request, this.socket);
  }

  #relayBody(framing: Exclude<Framing, { kind: "none" }>): RelayBody {
    return {
      framing,
      pause: () => this.socket.pause(),
      resume: () => {
        if (this.#phase === "body") this.#resumeBody();
      },
    };
  }

  /** The handler's answer; a failure is answered with a bare 500 and the connection closed (undefined). */
  async #handle(request: AgentRequest): Promise<Response | undefined> {
    try {
      return await this.options.handler(request);
    } catch (error) {
      this.#failed("agent.handler_failed", error);
      return undefined;
    }
  }

  #failed(event: string, error: unknown): void {
    this.options.logger.error(event, { error: error instanceof Error ? error.name : "unknown" });
    this.#phase = "closing";
    if (!this.socket.destroyed) this.socket.end(serverErrorBytes());
  }

  #resumeBody(): void {
    if (this.#expectContinue) {
      // RFC 9110 §10.1.1: the client waits for this before sending the body; sent once it is wanted.
      this.#expectContinue = false;
      this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    this.socket.resume();
  }

  #feedBody(chunk: Buffer): void {
    const body = this.#body;
    if (body === undefined) return;
    let rest: Uint8Array | undefined;
    try {
      rest = body.push(chunk);
    } catch {
      // Broken chunked framing: the request cannot be delimited, so nothing after it can be read.
      this.#mustClose = true;
      this.#phase = "closing";
      return;
    }
    if (!body.complete) return;
    this.#phase = "busy";
    if (rest !== undefined && rest.length > 0)
      this.#onData(Buffer.from(rest.buffer, rest.byteOffset, rest.length));
  }

  async #serve(answer: Promise<Response | boolean | undefined>, head: RequestHead): Promise<void> {
    let keepAlive: boolean | undefined;
    try {
      keepAlive = await this.#respond(answer, head);
    } finally {
      // Before the next pipelined request starts, so the drain never sees this one's end as its end.
      this.options.onRequest?.(false);
    }
    if (keepAlive !== undefined) this.#finish(keepAlive);
  }

  /** Returns whether the connection may carry another request; undefined once it was closed. */
  async #respond(
    answer: Promise<Response | boolean | undefined>,
    head: RequestHead,
  ): Promise<boolean | undefined> {
    const { socket, options } = this;
    let response: Response | boolean | undefined;
    try {
      response = await answer;
    } catch (error) {
      this.#failed("agent.relay_failed", error);
      return undefined;
    }
    // The relay wrote the whole answer itself; false when the connection cannot carry another.
    if (typeof response === "boolean") return socket.destroyed ? undefined : response;
    if (response === undefined) return undefined;
    let keepAlive: boolean;
    try {
      const context = { method: head.method, minor: head.minor, keepAlive: !this.#mustClose };
      keepAlive = await writeResponse(socket, response, context);
    } catch (error) {
      // Headers may be out already: the only honest signal left is cutting the connection.
      options.logger.error("agent.response_failed", {
        error: error instanceof Error ? error.name : "unknown",
      });
      socket.destroy();
      return undefined;
    }
    return keepAlive;
  }

  /** The response is out: read the next request, or close if this one's body was not read to its end. */
  #finish(keepAlive: boolean): void {
    this.#inFlight = undefined;
    this.#relayed = undefined;
    if (this.socket.destroyed) return;
    if (!keepAlive || this.#mustClose || this.#phase !== "busy" || this.socket.writableEnded) {
      this.#close();
      return;
    }
    this.#phase = "head";
    this.#body = undefined;
    this.#deadline.set(this.options.deadlines.idle);
    this.socket.resume();
    this.#nextHead();
  }

  /** RFC 9112 §2.2/§5: a malformed head is answered with its status, then the connection closes. */
  #refuse(status: number): void {
    this.#phase = "closing";
    this.#pending = undefined;
    const text = STATUS_TEXT[status] ?? "Bad Request";
    this.socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  }
}

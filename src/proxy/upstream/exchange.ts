/**
 * One request and its response on one connection. The request body is written while the response
 * is read (an upstream may answer early); the connection is handed back for reuse only when both
 * sides ended exactly where the framing said (RFC 9112 §9.3): anything else closes it, so a
 * leftover byte can never be read as the start of the next response.
 */

import type { Connection, ConnectionListener } from "./connection.ts";
import {
  UpstreamAbortedError,
  UpstreamClosedError,
  UpstreamError,
  UpstreamProtocolError,
  UpstreamRequestError,
} from "./errors.ts";
import { FinalHeadReader } from "./final-head.ts";
import type { RequestHead } from "./request-head.ts";
import { type Flow, type PushResult, ResponseBody } from "./response-body.ts";
import { bodyFraming, type ResponseHead } from "./response-head.ts";
import { writeBody } from "./upload.ts";

export interface ExchangeOptions {
  head: RequestHead;
  body: ReadableStream<Uint8Array> | null;
  signal: AbortSignal;
  maxHeadBytes: number;
  /** Takes back a connection that may carry another request. */
  release: { release(connection: Connection): void };
  /**
   * For a request on a reused connection that may be repeated: sends it again on a new connection
   * when this one closed before any byte of a response (the keep-alive race, see client.ts).
   */
  retry: (() => Promise<Response>) | undefined;
}

export function exchange(connection: Connection, options: ExchangeOptions): Promise<Response> {
  return new Exchange(connection, options).start();
}

/**
 * The exchange is its own abort listener (`handleEvent`) and its body's flow, so a request allocates
 * no closures for them.
 */
class Exchange implements ConnectionListener, EventListenerObject, Flow {
  #state: "head" | "body" | "done" = "head";
  #received = false;
  #sent = false;
  #persistent = false;
  #body: ResponseBody | undefined;
  #upload: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #resolve: (response: Response | Promise<Response>) => void = () => {};
  #reject: (error: Error) => void = () => {};
  readonly #heads: FinalHeadReader;

  constructor(
    private readonly connection: Connection,
    private readonly options: ExchangeOptions,
  ) {
    this.#heads = new FinalHeadReader(options.maxHeadBytes);
  }

  start(): Promise<Response> {
    const response = new Promise<Response>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.connection.attach(this);
    this.connection.setActive(true);
    this.#upload = this.options.body?.getReader();
    // No `once`: cleaning up removes it anyway, and an options object makes every add slower.
    this.options.signal.addEventListener("abort", this);
    if (this.options.signal.aborted) this.handleEvent();
    else this.#send();
    return response;
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.#fail(
      new UpstreamAbortedError("upstream client: the request was aborted", {
        cause: this.options.signal.reason,
      }),
    );
  }

  /** Writes the head at once when the socket takes it all; only a body or a partial write goes async. */
  #send(): void {
    let pending: Promise<void> | undefined;
    try {
      pending = this.connection.write(this.options.head.bytes);
    } catch (error) {
      this.#failSending(error);
      return;
    }
    if (pending === undefined && this.#upload === undefined) this.#sent = true;
    else this.#sendRest(pending).catch((error: unknown) => this.#failSending(error));
  }

  async #sendRest(pending: Promise<void> | undefined): Promise<void> {
    await pending;
    if (this.#upload !== undefined)
      await writeBody(this.#upload, this.options.head.framing, this.connection, () => this.#state === "done");
    this.#sent = true;
  }

  pause(): void {
    this.connection.pause();
  }

  resume(): void {
    this.connection.resume();
  }

  /** The consumer cancelled the body: nothing more is read, the connection cannot be reused. */
  cancelled(): void {
    this.#fail(undefined);
  }

  onData(bytes: Buffer): void {
    this.#received = true;
    try {
      if (this.#state === "head") this.#readHead(bytes);
      else if (this.#state === "body") this.#readBody(bytes);
    } catch (error) {
      this.#fail(
        asUpstreamError(
          error,
          () =>
            new UpstreamProtocolError("upstream client: the response could not be read", { cause: error }),
        ),
      );
    }
  }

  onClose(clean: boolean, cause: Error | undefined): void {
    if (this.#state === "head") {
      const before = !this.#received;
      const where = before ? "before responding" : "in the middle of the response head";
      this.#fail(
        new UpstreamClosedError(`upstream client: the upstream closed the connection ${where}`, before, {
          cause,
        }),
      );
    } else if (this.#state === "body" && this.#body?.end(clean) === true) {
      this.#state = "done";
      this.#cleanUp();
    } else {
      const error = new UpstreamClosedError(
        "upstream client: the connection closed before the response body was complete",
        false,
        { cause },
      );
      this.#fail(error);
    }
  }

  #readHead(bytes: Buffer): void {
    const final = this.#heads.push(bytes);
    if (final !== undefined) this.#respond(final.head, final.rest);
  }

  #respond(head: ResponseHead, rest: Buffer): void {
    // RFC 9110 §15: final statuses are 200–599; Response refuses anything else.
    if (head.status > 599) throw new UpstreamProtocolError("upstream client: status code out of range");
    const framing = bodyFraming(head, this.options.head.isHead);
    const init = { status: head.status, statusText: head.reason, headers: head.fields };
    this.#persistent = head.persistent;
    if (framing.kind === "none") {
      this.#resolve(new Response(null, init));
      this.#finish(rest.byteLength === 0);
      return;
    }
    const body = new ResponseBody(framing, this);
    this.#body = body;
    this.#state = "body";
    let result: PushResult = "more";
    try {
      if (rest.byteLength > 0) result = body.push(rest);
    } catch (error) {
      // The response is handed out all the same; the error then ends its body, as in a later read.
      this.#resolve(new Response(body.stream(), init));
      throw error;
    }
    if (result === "more") {
      this.#resolve(new Response(body.stream(), init));
      return;
    }
    this.#resolve(new Response(body.whole(), init));
    this.#finish(result === "done");
  }

  #readBody(bytes: Buffer): void {
    const result = this.#body?.push(bytes) ?? "more";
    if (result !== "more") this.#finish(result === "done");
  }

  /** The response ended; the connection goes back only if nothing is left unsent or unread. */
  #finish(exact: boolean): void {
    this.#state = "done";
    const reusable = exact && this.#persistent && this.#sent;
    this.#cleanUp();
    this.connection.detach();
    // RFC 9112 §9.6: an answer before the whole body was sent means stop sending and close.
    if (reusable) this.options.release.release(this.connection);
    else if (this.#sent) this.connection.close();
    else this.connection.destroy();
  }

  /** Destroys the connection; `error` rejects the response or errors its body (undefined: consumer cancelled). */
  #fail(error: UpstreamError | undefined): void {
    if (this.#state === "done") return;
    const state = this.#state;
    this.#state = "done";
    this.#cleanUp();
    this.connection.destroy();
    if (error === undefined) return;
    if (state !== "head") this.#body?.error(error);
    else if (error instanceof UpstreamClosedError && error.beforeResponse && this.options.retry !== undefined)
      this.#resolve(this.options.retry());
    else this.#reject(error);
  }

  #failSending(error: unknown): void {
    if (error instanceof UpstreamClosedError)
      // Whether a response had begun is known here, not where the write failed.
      this.#fail(
        new UpstreamClosedError(
          "upstream client: the connection closed while sending the request",
          this.#state === "head" && !this.#received,
          { cause: error.cause },
        ),
      );
    else
      this.#fail(
        asUpstreamError(
          error,
          () =>
            new UpstreamRequestError("upstream client: the request body could not be read", { cause: error }),
        ),
      );
  }

  #cleanUp(): void {
    this.options.signal.removeEventListener("abort", this);
    if (!this.#sent) this.#upload?.cancel().catch(() => undefined);
  }
}

function asUpstreamError(error: unknown, otherwise: () => UpstreamError): UpstreamError {
  return error instanceof UpstreamError ? error : otherwise();
}

/**
 * The proxy's byte relay (issue #16): one request, already checked, written as bytes onto a pooled
 * keep-alive upstream connection (its body streamed behind the head by ./relay-upload.ts), and the
 * answer relayed to the agent's socket as it arrives:
 * the response head parsed strictly (./upstream/response-head.ts), the body decoded from its framing,
 * scrubbed inline (./scrub.ts), framed again for the agent, with back-pressure both ways and the
 * socket's own idle timeout. No Response, stream or timer per request. A compressed answer that must
 * be scrubbed, and every failure before the agent got a byte, become a Response the connection writes.
 */
import type { AgentSocket } from "../agent-port/http1/socket.ts";
import type { RelayCall } from "../agent-port/http1/types.ts";
import { ProxyError } from "../core/errors.ts";
import { problemFor } from "./problem.ts";
import { encoded, respondDecoded } from "./relay-decoded.ts";
import { type AgentHead, agentHead } from "./relay-head.ts";
import type { RelayEnv, RelayPlan } from "./relay-types.ts";
import { Upload, type UploadOwner } from "./relay-upload.ts";
import { Scrubber } from "./scrub.ts";
import { type BodyDecoder, bodyDecoder } from "./upstream/body-decoder.ts";
import { Connection, type ConnectionListener } from "./upstream/connection.ts";
import { UpstreamProtocolError } from "./upstream/errors.ts";
import { FinalHeadReader } from "./upstream/final-head.ts";
import { bodyFraming, type ResponseHead } from "./upstream/response-head.ts";

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const CRLF = "\r\n";
const LAST_CHUNK = "0\r\n\r\n";

export function startRelay(env: RelayEnv, plan: RelayPlan, agent: AgentSocket): RelayCall {
  return new Relay(env, plan, agent).start();
}

type Failure = "upstream_unreachable" | "upstream_timeout" | "invalid_request";

class Relay implements ConnectionListener, UploadOwner {
  #state: "connecting" | "head" | "body" | "done" = "connecting";
  #connection: Connection | undefined;
  #reused = false;
  #received = false;
  #sent = false;
  #persistent = false;
  #paused = false;
  #framing: AgentHead["framing"] | undefined;
  #decoder: BodyDecoder | undefined;
  #scrubber: Scrubber | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #resolve: (answer: Response | boolean | Promise<Response>) => void = () => {};
  #heads: FinalHeadReader | undefined;
  readonly #upload: Upload | undefined;
  readonly #emit = (data: Uint8Array) => this.#forward(data);

  constructor(
    private readonly env: RelayEnv,
    private readonly plan: RelayPlan,
    private readonly agent: AgentSocket,
  ) {
    if (plan.body !== undefined) this.#upload = new Upload(plan.head.framing, plan.body, this);
  }

  start(): RelayCall {
    const done = new Promise<Response | boolean>((resolve) => {
      this.#resolve = resolve;
    });
    // A dial the deployment's guard refuses (ProxyDeps.dial) is answered as a connection that failed.
    if (this.env.dial?.(this.plan.url) === false)
      this.#failBefore("upstream_unreachable", "could not be reached");
    else this.#connect();
    const call: RelayCall = { done, abort: () => this.#abort() };
    if (this.#upload !== undefined) call.upload = this.#upload;
    return call;
  }

  #connect(): void {
    const pooled = this.env.pool.acquire(this.plan.target.origin);
    if (pooled === undefined) this.#open();
    else {
      this.#reused = true;
      this.#use(pooled);
    }
  }

  /** A new connection; its set-up is bounded by one timer (reused connections need none). */
  #open(): void {
    const { connection, opened } = Connection.open(this.plan.target, this.env.ca);
    this.#connection = connection;
    this.#state = "connecting";
    this.#connectTimer = setTimeout(() => this.onTimeout(), this.env.timeoutSeconds * 1000);
    opened.then(
      () => {
        clearTimeout(this.#connectTimer);
        if (this.#state === "connecting") this.#use(connection);
      },
      () => {
        clearTimeout(this.#connectTimer);
        if (this.#state === "connecting") this.#failBefore("upstream_unreachable", "could not be reached");
      },
    );
  }

  #use(connection: Connection): void {
    this.#connection = connection;
    this.#state = "head";
    this.#received = false;
    this.#heads = new FinalHeadReader(this.env.maxHeadBytes);
    connection.attach(this);
    connection.setActive(true);
    connection.setTimeout(this.env.timeoutSeconds);
    let pending: Promise<void> | undefined;
    try {
      pending = connection.write(this.plan.head.bytes);
    } catch {
      this.onClose(false);
      return;
    }
    if (this.#upload !== undefined) this.#upload.start(connection, pending);
    else if (pending === undefined) this.#sent = true;
    else
      pending.then(
        () => {
          this.#sent = true;
        },
        () => undefined, // the close handler reports it
      );
  }

  onData(bytes: Buffer): void {
    this.#received = true;
    if (!this.#paused) this.#connection?.setTimeout(this.env.timeoutSeconds);
    try {
      if (this.#state === "head") this.#readHead(bytes);
      else if (this.#state === "body") this.#readBody(bytes);
    } catch {
      this.#fail("upstream_unreachable", "answered with a response that could not be read");
    }
  }

  onClose(clean: boolean): void {
    if (this.#state === "head" && !this.#received && this.#reused && this.#retriable()) {
      // The keep-alive race (RFC 9112 §9.3.1): the upstream closed the pooled connection as we reused
      // it, before any byte of an answer. An idempotent request is sent once more, on a new one.
      this.#reused = false;
      this.#connection?.detach();
      this.#open();
      return;
    }
    if (this.#state === "body" && this.#decoder?.closed(clean) === true) {
      this.#end(false);
      return;
    }
    this.#fail("upstream_unreachable", "closed the connection before the response was complete");
  }

  /**
   * RFC 9110 §9.2.2: only an idempotent request may be repeated, and only while none of its body was
   * written (the bytes are streamed, not kept: a partial body cannot be sent again). A POST never is.
   */
  #retriable(): boolean {
    return IDEMPOTENT.has(this.plan.head.method) && this.#upload?.untouched !== false;
  }

  /** UploadOwner: request bytes are moving, so the upstream's silence starts again. */
  touch(): void {
    if (!this.#paused && this.#state !== "done") this.#connection?.setTimeout(this.env.timeoutSeconds);
  }

  /** UploadOwner: the agent's body cannot be delimited; the upstream must never see it complete. */
  broken(): void {
    this.#fail("invalid_request", "request body's framing is broken");
  }

  onTimeout(): void {
    if (this.#paused || this.#state === "done") return;
    this.#fail("upstream_timeout", "did not answer in time");
  }

  #readHead(bytes: Buffer): void {
    const final = (this.#heads as FinalHeadReader).push(bytes);
    if (final !== undefined) this.#respond(final.head, final.rest);
  }

  #respond(head: ResponseHead, rest: Buffer): void {
    // RFC 9110 §15: a status is 100–599; anything else is a broken upstream, not a proxy failure.
    if (head.status > 599) throw new UpstreamProtocolError("upstream client: status code out of range");
    this.#persistent = head.persistent;
    const framing = bodyFraming(head, this.plan.head.isHead);
    if (this.plan.patterns !== undefined && framing.kind !== "none" && encoded(head)) {
      // Compressed despite `accept-encoding: identity`: decoded and scrubbed on the Response path.
      this.#state = "done";
      const connection = this.#connection as Connection;
      const response = respondDecoded(connection, head, framing, rest, this.env, this.#requestSent());
      this.#resolve(this.plan.decoded(response));
      return;
    }
    // An agent body not read to its end leaves the agent connection unusable: close after the answer.
    const keepAlive = this.plan.keepAlive && this.#upload?.received !== false;
    const { minor, patterns } = this.plan;
    const out = agentHead(head, { isHead: this.plan.head.isHead, minor, keepAlive }, patterns);
    this.#framing = out.framing;
    this.plan.answered(head.status, out.framing.length);
    this.#state = "body";
    const { agent } = this;
    agent.cork();
    agent.write(out.text);
    if (framing.kind === "none" || out.framing.bodiless) {
      agent.uncork();
      this.#end(rest.byteLength === 0 && framing.kind === "none");
      return;
    }
    this.#decoder = bodyDecoder(framing);
    if (this.plan.patterns !== undefined) this.#scrubber = new Scrubber(this.plan.patterns);
    this.#readBody(rest);
    agent.uncork();
  }

  #readBody(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const result = (this.#decoder as BodyDecoder).push(bytes, this.#emit);
    if (result !== "more") this.#end(result === "done");
  }

  /** Body data on its way to the agent: scrubbed, framed, written; a full socket pauses the upstream. */
  #forward(data: Uint8Array): void {
    const out = this.#scrubber === undefined ? data : this.#scrubber.push(data);
    if (!this.#write(out)) this.#pause();
  }

  #write(out: Uint8Array): boolean {
    const { agent } = this;
    if (out.byteLength === 0) return true;
    if (this.#framing?.chunked !== true) return agent.write(out);
    agent.write(`${out.byteLength.toString(16)}${CRLF}`);
    agent.write(out);
    return agent.write(CRLF);
  }

  /**
   * Back-pressure: the agent's socket took less than given. The upstream is paused and its silence
   * no longer counts as a timeout (the agent is the slow one) until the agent drained.
   */
  #pause(): void {
    if (this.#paused || this.agent.destroyed) return;
    this.#paused = true;
    const connection = this.#connection;
    connection?.pause();
    connection?.setTimeout(0);
    this.agent.drained().then(() => {
      this.#paused = false;
      if (this.#state !== "body") return;
      connection?.setTimeout(this.env.timeoutSeconds);
      connection?.resume();
    });
  }

  /** The response is complete; `exact`: the upstream sent nothing past its end. */
  #end(exact: boolean): void {
    const rest = this.#scrubber?.flush();
    if (rest !== undefined) this.#write(rest);
    if (this.#framing?.chunked === true) this.agent.write(LAST_CHUNK);
    this.#state = "done";
    this.#release(exact && this.#persistent && this.#requestSent());
    this.#resolve(this.#framing?.keepAlive === true);
  }

  /** Every byte of the request reached the upstream socket (else the connection is not reusable). */
  #requestSent(): boolean {
    return this.#upload === undefined ? this.#sent : this.#upload.complete;
  }

  #release(reusable: boolean): void {
    this.#upload?.stop();
    const connection = this.#connection;
    if (connection === undefined) return;
    connection.detach();
    connection.setTimeout(0);
    // RFC 9112 §9.3: only a connection whose exchange ended exactly where its framing said is reused.
    if (reusable) this.env.pool.release(connection);
    else connection.destroy();
  }

  /** Before the agent got a byte: a problem answer; after: cutting the agent's connection is the only signal. */
  #fail(code: Failure, what: string): void {
    if (this.#state === "done") return;
    const before = this.#state === "connecting" || this.#state === "head";
    this.#state = "done";
    clearTimeout(this.#connectTimer);
    this.#release(false);
    if (before) {
      this.#failBefore(code, what);
      return;
    }
    this.agent.destroy();
    this.#resolve(false);
  }

  #failBefore(code: Failure, what: string): void {
    this.#state = "done";
    this.#upload?.stop();
    const who = code === "invalid_request" ? "the" : "the upstream";
    const error = new ProxyError(code, `proxy: ${who} ${what}`);
    const response = problemFor(error.code, error.message);
    this.plan.answered(response.status, undefined, code);
    this.#resolve(response);
  }

  /** The agent went away: nothing on the upstream connection is worth finishing. */
  #abort(): void {
    this.#upload?.stop();
    if (this.#state === "done") return;
    this.#state = "done";
    clearTimeout(this.#connectTimer);
    this.#release(false);
    this.#resolve(false);
  }
}

/**
 * Why an upstream exchange failed, one class per place it can fail. All carry `upstream_unreachable`
 * (the proxy answers 502 whichever it is); the class and message say where. Messages never quote
 * header values, body bytes or the URL's query: the request carries a real access token.
 */

import { SurrogateError } from "../../core/errors.ts";

export class UpstreamError extends SurrogateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("upstream_unreachable", message, options);
  }
}

/** The request was refused before a byte was sent: a URL, method, header or body we will not write. */
export class UpstreamRequestError extends UpstreamError {}

/** DNS, TCP or TLS (handshake or certificate verification) failed: no connection to talk over. */
export class UpstreamConnectError extends UpstreamError {}

/** The upstream answered with something that is not a well-formed HTTP/1.1 response. */
export class UpstreamProtocolError extends UpstreamError {}

/** The connection closed or reset while a write was under way. */
export class UpstreamClosedError extends UpstreamError {}

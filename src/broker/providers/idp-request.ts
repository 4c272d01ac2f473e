/**
 * The one way the broker sends a request to an identity provider's token or revocation endpoint:
 * the injected fetch, no redirects, a timeout, a capped reply (src/core/io/bounded-fetch.ts), and
 * the client's credentials attached the way the provider expects. The reply comes back with its
 * status and its body as a JSON object when it is one; deciding what the status means is left to
 * the caller, which knows the endpoint. Failures to get any reply are IdpError `idp_network`.
 */
import { IdpError } from "../../core/errors.ts";
import { boundedFetch } from "../../core/io/bounded-fetch.ts";
import { BodyTooLargeError } from "../../core/io/read-capped.ts";
import { parseStrictJson } from "../../core/io/strict-json.ts";
import type { ClientAuthMethod } from "../../core/provider/kinds.ts";
import type { Secret } from "../../core/secret.ts";
import { VERSION } from "../../core/version.ts";

export interface ClientCredentials {
  clientId: string;
  clientSecret?: Secret;
  method: ClientAuthMethod;
}

export interface IdpRequest {
  url: string;
  method: "POST" | "DELETE";
  /** An application/x-www-form-urlencoded body (token endpoints, RFC 7009). */
  form?: URLSearchParams;
  /** A JSON body (GitHub's REST API). */
  json?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface IdpReply {
  status: number;
  /** The body when it is a JSON object (duplicate members refused), else undefined. */
  json: Record<string, unknown> | undefined;
}

export interface IdpTransport {
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Token responses hold a few tokens of at most 16 KiB each (./token-response.ts); this is ample. */
const MAX_REPLY_BYTES = 128 * 1024;

export async function sendToIdp(
  request: IdpRequest,
  where: string,
  transport: IdpTransport,
): Promise<IdpReply> {
  const send = boundedFetch(transport.fetch, { timeoutMs: transport.timeoutMs, maxBytes: MAX_REPLY_BYTES });
  const body =
    request.form?.toString() ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
  const headers: Record<string, string> = {
    accept: "application/json",
    // GitHub's API refuses requests without a User-Agent (docs.github.com, "Getting started with the REST API").
    "user-agent": `surrogate/${VERSION}`,
    ...(request.form && { "content-type": "application/x-www-form-urlencoded" }),
    ...(request.json && { "content-type": "application/json" }),
    ...request.headers,
  };
  let response: Response;
  try {
    response = await send(request.url, {
      method: request.method,
      headers,
      ...(body !== undefined && { body }),
    });
  } catch (error) {
    // The cause is not attached: fetch errors can quote the request, and the request carries secrets.
    throw new IdpError("idp_network", `${where}: ${networkProblem(error, transport.timeoutMs)}`);
  }
  return { status: response.status, json: jsonObject(await response.text()) };
}

function networkProblem(error: unknown, timeoutMs: number): string {
  if (error instanceof BodyTooLargeError) return `the answer is larger than ${MAX_REPLY_BYTES / 1024} KiB`;
  if (error instanceof Error && error.name === "TimeoutError")
    return `no answer within ${timeoutMs / 1000} s`;
  return "the identity provider is unreachable";
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = parseStrictJson(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adds the client's credentials to a token-endpoint style request. RFC 6749 §2.3.1: with Basic, the
 * client id and secret are form-urlencoded before being joined, so a `:` in either stays unambiguous;
 * in the body they are ordinary form parameters. Never both (the same section forbids it).
 */
export function withClientAuth(request: IdpRequest, client: ClientCredentials): IdpRequest {
  const secret = client.clientSecret?.reveal();
  const form = new URLSearchParams(request.form);
  if (client.method === "client_secret_post" || secret === undefined) {
    form.set("client_id", client.clientId);
    if (secret !== undefined) form.set("client_secret", secret);
    return { ...request, form };
  }
  const basic = basicCredentials(formEncode(client.clientId), formEncode(secret));
  return { ...request, form, headers: { ...request.headers, authorization: `Basic ${basic}` } };
}

/** RFC 7617 §2: base64 of `user ":" password` in UTF-8. */
export function basicCredentials(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString("base64");
}

/** application/x-www-form-urlencoded serialisation of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

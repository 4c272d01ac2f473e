/**
 * The response head the byte relay writes to the agent, built from the upstream's parsed head with
 * exactly the rules the Response path applies (filterResponseHeaders, scrubResponse, writeResponse):
 * hop-by-hop fields and the upstream's Connection options dropped, names lower-cased, the status
 * text ours, a Date added when missing, the body framed for this hop, the token masked.
 */
import { httpDate, statusLine } from "../agent-port/http1/writer.ts";
import { HOP_BY_HOP } from "../core/http/fields.ts";
import { leaksLowerCased, scrubText } from "./scrub.ts";
import type { ResponseHead } from "./upstream/response-head.ts";

export interface AgentFraming {
  /** The request was HEAD, or the status has no content (RFC 9110 §6.4.1). */
  bodiless: boolean;
  /** Re-chunked for the agent: the upstream gave no length and the agent speaks HTTP/1.1. */
  chunked: boolean;
  keepAlive: boolean;
  /** The Content-Length passed on, if any (the access line's `bytes`). */
  length: number | undefined;
}

export interface AgentHead {
  text: string;
  framing: AgentFraming;
}

/** `minor`/`keepAlive`: the agent request's HTTP version and whether its connection may stay open. */
export function agentHead(
  head: ResponseHead,
  request: { isHead: boolean; minor: 0 | 1; keepAlive: boolean },
  patterns: readonly Uint8Array[] | undefined,
): AgentHead {
  const { status } = head;
  const bodiless = request.isHead || status < 200 || status === 204 || status === 304;
  const dropped = connectionOptions(head);
  let fields = "";
  let hasDate = false;
  for (const [name, value] of head.fields) {
    if (skipped(name, dropped)) continue;
    if (name === "date") hasDate = true;
    fields += `${name}: ${value}\r\n`;
  }
  // One text, one search per pattern; only a head that carries the token is rebuilt field by field.
  if (patterns !== undefined && leaks(fields, patterns)) fields = scrubbedFields(head, dropped, patterns);
  if (!hasDate) fields += `date: ${httpDate()}\r\n`;
  const { length, lengthText } = head;
  // Written once from the parsed value: repeated equal fields (RFC 9110 §8.6) become one.
  if (lengthText !== undefined) fields += `content-length: ${lengthText}\r\n`;
  const chunked = !bodiless && length === undefined && request.minor === 1;
  // RFC 9112 §6.3: without a length or chunking, only closing the connection ends the body.
  const keepAlive = request.keepAlive && (bodiless || length !== undefined || chunked);
  if (chunked) fields += "transfer-encoding: chunked\r\n";
  if (!keepAlive) fields += "connection: close\r\n";
  else if (request.minor === 0) fields += "connection: keep-alive\r\n";
  const text = `${statusLine(status)}${fields}\r\n`;
  return { text, framing: { bodiless, chunked, keepAlive, length } };
}

/** RFC 9110 §7.6.1: the fields a Connection header names are this hop's, like the hop-by-hop ones. */
function connectionOptions(head: ResponseHead): Set<string> | undefined {
  let options: Set<string> | undefined;
  for (const [name, value] of head.fields) {
    if (name !== "connection") continue;
    options ??= new Set();
    for (const item of value.split(",")) {
      const option = item.trim().toLowerCase();
      if (option !== "") options.add(option);
    }
  }
  return options;
}

function skipped(lower: string, dropped: Set<string> | undefined): boolean {
  return lower === "content-length" || HOP_BY_HOP.has(lower) || dropped?.has(lower) === true;
}

function leaks(text: string, patterns: readonly Uint8Array[]): boolean {
  return scrubText(text, patterns) !== text || leaksLowerCased(text, patterns);
}

/** A name carrying the token is dropped (it arrives lower-cased), a value has it masked (issue #9). */
function scrubbedFields(
  head: ResponseHead,
  dropped: Set<string> | undefined,
  patterns: readonly Uint8Array[],
): string {
  let fields = "";
  for (const [name, value] of head.fields) {
    if (skipped(name, dropped)) continue;
    if (!leaksLowerCased(name, patterns)) fields += `${name}: ${scrubText(value, patterns)}\r\n`;
  }
  return fields;
}

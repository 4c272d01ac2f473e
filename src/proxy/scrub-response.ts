/**
 * Applies response scrubbing (./scrub.ts) to what an upstream answered: status text, header names
 * and values, and the body, decoded first when the upstream compressed it anyway.
 */
import { ProxyError } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import type { BodyTransform } from "./forward.ts";
import { leaksLowerCased, Scrubber, scrubStream, scrubText } from "./scrub.ts";
import { leakPatternsOf } from "./scrub-patterns.ts";

/** Content codings (RFC 9110 §8.4.1) the proxy can undo, by the name DecompressionStream knows. */
const DECODERS: ReadonlyMap<string, string> = new Map([
  ["gzip", "gzip"],
  ["x-gzip", "gzip"],
  ["deflate", "deflate"],
  ["br", "brotli"],
  ["zstd", "zstd"],
]);

/** More layers than this is not a real response; it would only multiply the decoding work. */
const MAX_CODINGS = 2;

/**
 * A compressed echo is still an echo: the agent would simply decompress it. Asking for `identity`
 * (RFC 9110 §12.5.3) lets the scan run on the bytes as they arrive, with no decoding work here
 * (docs/benchmarks.md "Response scrubbing" has the cost of both ways). The agent loses nothing it
 * can rely on: identity is acceptable to every client that did not refuse it with `q=0`.
 */
export function askForIdentity(headers: { set(name: string, value: string): void }): void {
  headers.set("accept-encoding", "identity");
}

/** forward()'s body transform for one request, and whether it took the body on. */
export interface RelayScrub {
  transform: (headers: Headers) => BodyTransform | undefined;
  applied: boolean;
}

/**
 * Scrubs the body inside forward()'s relay when the upstream answered as asked, without a content
 * coding. A compressed body is left to scrubResponse, which decodes it first.
 */
export function relayScrub(token: Secret): RelayScrub {
  const scrub: RelayScrub = {
    applied: false,
    transform: (headers) => {
      const coding = headers.get("content-encoding");
      if (coding !== null && coding.trim().toLowerCase() !== "identity") return undefined;
      scrub.applied = true;
      return new Scrubber(leakPatternsOf(token));
    },
  };
  return scrub;
}

/**
 * The response with every spelling of `token` masked; `bodyScrubbed` says identityScrubber already
 * runs on its body. An upstream that compressed anyway is decoded and passed on as identity
 * (Content-Length and Content-Encoding dropped); one using a coding the proxy cannot decode is
 * refused (ProxyError `upstream_unreachable`), never passed on unread: an unscanned body is exactly
 * what an attacker would arrange.
 */
export async function scrubResponse(
  response: Response,
  token: Secret,
  bodyScrubbed: boolean,
): Promise<Response> {
  const patterns = leakPatternsOf(token);
  if (bodyScrubbed || response.body === null) {
    return leaksInHead(response, patterns) ? withHead(response, response.body, patterns, false) : response;
  }
  const decoders = await decodersFor(response.headers.get("content-encoding"), response.body);
  let body = response.body;
  for (const format of decoders) body = body.pipeThrough(decoder(format));
  return withHead(response, scrubStream(body, patterns), patterns, decoders.length > 0);
}

/**
 * Whether the status text or any header name or value carries a pattern: the common case is no, so
 * everything is scanned as one text (one search per pattern instead of one per pattern and field).
 * The separator cannot occur in a field, so no match spans two of them.
 */
function leaksInHead(response: Response, patterns: readonly Uint8Array[]): boolean {
  let head = response.statusText;
  for (const [name, value] of response.headers) head += `\n${name}\n${value}`;
  return scrubText(head, patterns) !== head || leaksLowerCased(head, patterns);
}

/** `body` under the response's status and headers, each scrubbed; a `decoded` body has no coding or length. */
function withHead(
  response: Response,
  body: ReadableStream<Uint8Array> | null,
  patterns: readonly Uint8Array[],
  decoded: boolean,
): Response {
  const headers = new Headers();
  for (const [name, value] of response.headers) {
    // Names arrive lower-cased, so a token reflected into one is matched lower-cased and dropped.
    if (!leaksLowerCased(name, patterns)) headers.append(name, scrubText(value, patterns));
  }
  if (decoded) {
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  return new Response(body, {
    status: response.status,
    statusText: scrubText(response.statusText, patterns),
    headers,
  });
}

/** Decoders to apply, outermost coding first (codings are listed in the order applied). */
async function decodersFor(header: string | null, body: ReadableStream<Uint8Array>): Promise<string[]> {
  const codings = (header ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  const decoders: string[] = [];
  for (const coding of codings.reverse()) {
    const decoder = DECODERS.get(coding);
    if (decoder === undefined || decoders.length === MAX_CODINGS) return refuse(body);
    decoders.push(decoder);
  }
  return decoders;
}

async function refuse(body: ReadableStream<Uint8Array>): Promise<never> {
  await body.cancel().catch(() => undefined);
  throw new ProxyError(
    "upstream_unreachable",
    "proxy: the upstream answered with a content coding the proxy cannot decode to scrub it",
  );
}

/** Bun 1.4.5 decodes `brotli` and `zstd` too (verified); the DOM typings list only the older three. */
function decoder(format: string): DecompressionStream {
  return new DecompressionStream(format as CompressionFormat);
}

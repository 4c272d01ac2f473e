/**
 * Streams a request body to the upstream with back-pressure: the next chunk is pulled from the
 * caller's stream only once the socket has taken all of the previous one, so a slow upstream slows
 * the agent's upload instead of filling our memory.
 */

import type { Connection } from "./connection.ts";
import { UpstreamRequestError } from "./errors.ts";
import type { RequestFraming } from "./request-head.ts";

const CRLF = Buffer.from("\r\n", "latin1");
/** RFC 9112 §7.1: last-chunk, no trailer section, final CRLF. */
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/**
 * Writes the body framed as the head announced. Content-Length is a promise to the upstream: a
 * stream delivering more or fewer bytes throws UpstreamRequestError (the caller then destroys the
 * connection) rather than leaving the upstream to read the next request out of our excess or wait
 * forever for the rest. `stopped()` says the exchange is over and nothing more is to be read.
 */
export async function writeBody(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  framing: RequestFraming,
  connection: Connection,
  stopped: () => boolean,
): Promise<void> {
  const limit = framing.kind === "length" ? framing.length : 0;
  let sent = 0;
  for (let step = await reader.read(); !step.done; step = await reader.read()) {
    if (stopped()) return;
    const chunk: unknown = step.value;
    if (!(chunk instanceof Uint8Array))
      throw new UpstreamRequestError("upstream client: the request body stream yielded a non-byte chunk");
    // A zero-size chunk would read as the last chunk (RFC 9112 §7.1) and end the body early.
    if (chunk.byteLength === 0) continue;
    if (framing.kind === "chunked") {
      await connection.write(chunkFrame(chunk));
      continue;
    }
    sent += chunk.byteLength;
    if (sent > limit)
      throw new UpstreamRequestError("upstream client: the request body is longer than its Content-Length");
    await connection.write(chunk);
  }
  if (stopped()) return;
  if (framing.kind === "chunked") await connection.write(LAST_CHUNK);
  else if (sent < limit)
    throw new UpstreamRequestError("upstream client: the request body is shorter than its Content-Length");
}

/** One chunk: hex size, CRLF, data, CRLF — copied into one write so it leaves in one TLS record. */
function chunkFrame(data: Uint8Array): Uint8Array {
  const size = Buffer.from(`${data.byteLength.toString(16)}\r\n`, "latin1");
  return Buffer.concat([size, data, CRLF]);
}

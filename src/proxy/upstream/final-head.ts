/**
 * The final response head of one request, read from socket bytes: interim (1xx) heads before it
 * are skipped, and their number is bounded, so an upstream cannot hold a request open with them.
 */
import { UpstreamProtocolError } from "./errors.ts";
import { HeadReader } from "./head-reader.ts";
import { parseResponseHead, type ResponseHead } from "./response-head.ts";

/** Interim responses (100, 103) skipped per request before the upstream is deemed broken. */
const MAX_INTERIM = 10;

export class FinalHeadReader {
  readonly #heads: HeadReader;
  #interim = 0;

  constructor(maxHeadBytes: number) {
    this.#heads = new HeadReader(maxHeadBytes);
  }

  /** The final head and the bytes after it, or undefined until it is complete. */
  push(bytes: Buffer): { head: ResponseHead; rest: Buffer } | undefined {
    let input = bytes;
    for (;;) {
      const complete = this.#heads.push(input);
      if (complete === undefined) return undefined;
      const head = parseResponseHead(complete.text);
      if (head.status >= 200) return { head, rest: complete.rest };
      // RFC 9110 §15.2.2: we never send Upgrade, so a 101 is a broken or hostile upstream.
      if (head.status === 101)
        throw new UpstreamProtocolError("upstream client: unrequested 101 Switching Protocols");
      // RFC 9110 §15.2: interim responses are skipped; their number is bounded.
      this.#interim += 1;
      if (this.#interim > MAX_INTERIM)
        throw new UpstreamProtocolError("upstream client: too many interim responses");
      if (complete.rest.byteLength === 0) return undefined;
      input = complete.rest;
    }
  }
}

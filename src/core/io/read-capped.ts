/**
 * The one capped body reader, for request bodies (agent API, web forms) and for answers of identity
 * providers alike. A declared Content-Length over the cap is refused before reading; a chunked body
 * declares nothing, so the count while streaming is what actually bounds memory, and the stream is
 * cancelled the moment it passes the cap (the rest is never read).
 */

export class BodyTooLargeError extends Error {
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super(`body larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

/** At most `maxBytes` of `body`, or BodyTooLargeError. */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  declaredLength: string | null,
): Promise<Uint8Array<ArrayBuffer>> {
  if (declaredLength !== null && Number(declaredLength) > maxBytes) {
    await body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes);
  }
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(next.value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

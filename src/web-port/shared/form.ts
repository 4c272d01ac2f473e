/**
 * The body of a consent-form POST: urlencoded, small, every parameter at most once. Read with a cap
 * while streaming, because a chunked body declares no length up front.
 */
import { WebError } from "../../core/errors.ts";

/** The forms carry two short fields; 8 KiB is generous and keeps a slow-loris body cheap. */
export const MAX_FORM_BYTES = 8 * 1024;

function invalid(problem: string): WebError {
  return new WebError("invalid_request", `form: ${problem}`);
}

/** The body, refused (payload_too_large) as soon as it passes `limit` bytes. */
export async function readCapped(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): WebError {
  return new WebError("payload_too_large", `form: body larger than ${limit} bytes`);
}

/** Parameters as strings only; a repeated parameter is an error, not "the first one wins". */
export async function readForm(
  request: Request,
  limit = MAX_FORM_BYTES,
): Promise<ReadonlyMap<string, string>> {
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded")
    throw invalid("expected application/x-www-form-urlencoded");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readCapped(request, limit));
  } catch (error) {
    throw error instanceof WebError ? error : invalid("not valid UTF-8");
  }
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (params.has(name)) throw invalid("a parameter appears more than once");
    params.set(name, value);
  }
  return params;
}

/**
 * The body of a consent-form POST: urlencoded, small, every parameter at most once. Read with a cap
 * while streaming, because a chunked body declares no length up front.
 */
import { WebError } from "../../core/errors.ts";
import { BodyTooLargeError, readCapped } from "../../core/io/read-capped.ts";

/** The forms carry two short fields; 8 KiB is generous and keeps a slow-loris body cheap. */
export const MAX_FORM_BYTES = 8 * 1024;

function invalid(problem: string): WebError {
  return new WebError("invalid_request", `form: ${problem}`);
}

async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  try {
    return await readCapped(request.body, limit, request.headers.get("content-length"));
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new WebError("payload_too_large", `form: body larger than ${limit} bytes`);
  }
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
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readBody(request, limit));
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

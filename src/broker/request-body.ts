/**
 * The parameters of a POST to the agent API. RFC 6749 §3.2 / RFC 8628 §3.1 specify form encoding;
 * JSON is accepted too (DESIGN §4.1) because agents are scripts. Both end up as the same flat map.
 */
import { OAuthError } from "../core/errors.ts";
import { parseStrictJson } from "../core/io/strict-json.ts";

/** Far above any legitimate request (a refresh wrapper is ~1–2 KiB), far below memory trouble. */
export const MAX_BODY_BYTES = 16 * 1024;

export type RequestParams = ReadonlyMap<string, string>;

function invalid(problem: string): OAuthError {
  return new OAuthError("invalid_request", `request body: ${problem}`);
}

function tooLarge(): OAuthError {
  return new OAuthError("payload_too_large", `request body: larger than ${MAX_BODY_BYTES} bytes`);
}

/**
 * Reads at most `limit` bytes and stops there: a declared Content-Length is checked first, but a
 * chunked body declares nothing, so the count while reading is what actually bounds memory.
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  declaredLength: string | null,
): Promise<Uint8Array> {
  if (declaredLength !== null && Number(declaredLength) > limit) throw tooLarge();
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    total += next.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid("not valid UTF-8");
  }
}

/** RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once." */
function parseForm(text: string): RequestParams {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (params.has(name)) throw invalid(`parameter "${safeName(name)}" included more than once`);
    params.set(name, value);
  }
  return params;
}

/** Duplicate members are refused for the same reason as duplicate form parameters (strict parser). */
function parseJson(text: string): RequestParams {
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch {
    throw invalid("not a JSON object without duplicate members");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("not a JSON object");
  const params = new Map<string, string>();
  for (const [name, member] of Object.entries(value)) {
    if (typeof member !== "string") throw invalid(`parameter "${safeName(name)}" is not a string`);
    params.set(name, member);
  }
  return params;
}

/** Parameter names are echoed in errors only when they look like parameter names. */
function safeName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : "(unnamed)";
}

function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

/** Throws OAuthError `invalid_request` (bad type or encoding) or `payload_too_large`. */
export async function readParams(
  headers: Headers,
  body: ReadableStream<Uint8Array> | null,
): Promise<RequestParams> {
  const type = mediaType(headers.get("content-type"));
  if (type !== "application/json" && type !== "application/x-www-form-urlencoded") {
    await body?.cancel().catch(() => undefined);
    throw invalid("Content-Type must be application/x-www-form-urlencoded or application/json");
  }
  const text = decodeUtf8(await readLimited(body, MAX_BODY_BYTES, headers.get("content-length")));
  return type === "application/json" ? parseJson(text) : parseForm(text);
}

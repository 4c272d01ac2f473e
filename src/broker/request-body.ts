/**
 * The parameters of a POST to the agent API. RFC 6749 §3.2 / RFC 8628 §3.1 specify form encoding;
 * JSON is accepted too (DESIGN §4.1) because agents are scripts. Both end up as the same flat map.
 */
import { OAuthError } from "../core/errors.ts";
import { BodyTooLargeError, readCapped } from "../core/io/read-capped.ts";
import { parseStrictJson } from "../core/io/strict-json.ts";

/** Far above any legitimate request (a refresh wrapper is ~1–2 KiB), far below memory trouble. */
export const MAX_BODY_BYTES = 16 * 1024;

export type RequestParams = ReadonlyMap<string, string>;

function invalid(problem: string): OAuthError {
  return new OAuthError("invalid_request", `request body: ${problem}`);
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

async function readBody(body: ReadableStream<Uint8Array> | null, declared: string | null) {
  try {
    return await readCapped(body, MAX_BODY_BYTES, declared);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new OAuthError("payload_too_large", `request body: larger than ${MAX_BODY_BYTES} bytes`);
  }
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
  const text = decodeUtf8(await readBody(body, headers.get("content-length")));
  return type === "application/json" ? parseJson(text) : parseForm(text);
}

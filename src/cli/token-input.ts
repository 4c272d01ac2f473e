/**
 * A wrapper handed to the CLI (refresh, inspect): a bare compact JWS, or the JSON that
 * `surrogate login --json` writes. Decoded here WITHOUT verification, for display and for
 * choosing which verification rules apply; nothing decoded here is trusted.
 */
import { SurrogateError } from "../core/errors.ts";
import { parseStrictJson } from "../core/io/strict-json.ts";
import { decodeJsonObject, MAX_WRAPPER_LENGTH, splitCompact } from "../core/token/compact.ts";
import { ACCESS_TYP, REFRESH_TYP, type WrapperKind } from "../core/token/types.ts";
import { isWrapper } from "./broker-reply.ts";
import type { CliContext } from "./command.ts";
import { inputError, readInput, utf8Of } from "./input.ts";

/** Two wrappers plus JSON punctuation: more than this is not a login output. */
export const MAX_TOKEN_INPUT_BYTES = 4 * MAX_WRAPPER_LENGTH;

export type TokenMember = "access_token" | "refresh_token";

export async function readWrapper(
  source: string,
  member: TokenMember,
  context: CliContext,
  label: string,
): Promise<string> {
  const bytes = await readInput(source, context, MAX_TOKEN_INPUT_BYTES, label);
  const where = source === "-" ? label : `${label} ${source}`;
  return wrapperFromText(utf8Of(bytes, where).trim(), member, where);
}

export function wrapperFromText(text: string, member: TokenMember, label: string): string {
  if (!text.startsWith("{")) {
    if (!isWrapper(text))
      throw inputError(`${label}: not a wrapper token (compact JWS) or login --json output`);
    return text;
  }
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    throw inputError(`${label}: not valid JSON`, error);
  }
  const value =
    typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)[member] : undefined;
  if (value === undefined) throw inputError(`${label}: the JSON has no ${member}`);
  if (!isWrapper(value)) throw inputError(`${label}: ${member} is not a wrapper token`);
  return value;
}

export interface DecodedWrapper {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Header and payload as JSON objects (strict: duplicate members refused), signature unchecked. */
export function decodeUnverified(token: string): DecodedWrapper {
  const [header, payload] = splitCompact(token, 3, "wrapper");
  return {
    header: decodeJsonObject(header ?? "", "wrapper header"),
    payload: decodeJsonObject(payload ?? "", "wrapper payload"),
  };
}

/** Which kind the header's `typ` claims (RFC 8725 §3.11); the verifier still checks it. */
export function kindOf(header: Record<string, unknown>): WrapperKind {
  if (header.typ === ACCESS_TYP) return "access";
  if (header.typ === REFRESH_TYP) return "refresh";
  throw new SurrogateError(
    "invalid_token",
    `not a surrogate wrapper: typ must be ${ACCESS_TYP} or ${REFRESH_TYP}`,
  );
}

/**
 * Bounded reading of what a command is handed: a file named on the command line, or stdin. The
 * cap applies to the bytes actually read, so a FIFO, a device or a growing file cannot make the
 * CLI read without end. Errors name the flag and the path, never the content.
 */

import { SurrogateError } from "../core/errors.ts";
import { readFileCapped, reasonOf } from "../core/io/file.ts";
import { BodyTooLargeError, readCapped as readCappedBody } from "../core/io/read-capped.ts";
import type { CliContext } from "./command.ts";

/** A problem with something given on the command line (a file, stdin, a flag's value). */
export function inputError(message: string, cause?: unknown): SurrogateError {
  return new SurrogateError("input_invalid", message, cause === undefined ? undefined : { cause });
}

/** `label` names what the file is (`--cert`, `token file`); `path` is where it was looked for. */
export function readFileBytes(path: string, maxBytes: number, label: string): Promise<Uint8Array> {
  return readFileCapped(path, maxBytes, {
    unreadable: (error) => inputError(`cannot read ${label} ${path}: ${reasonOf(error)}`, error),
    notAFile: () => inputError(`${label} ${path}: not a regular file`),
    tooLarge: () => inputError(`${label} ${path}: larger than ${maxBytes} bytes`),
  });
}

export function readStreamBytes(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  label: string,
): Promise<Uint8Array> {
  return readCapped(stream, maxBytes, () => inputError(`${label}: larger than ${maxBytes} bytes`));
}

/** Reads a stream to the end (core/io/read-capped.ts), failing with `tooLarge()` once it passes `maxBytes`. */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  try {
    return await readCappedBody(stream, maxBytes, null);
  } catch (error) {
    throw error instanceof BodyTooLargeError ? tooLarge() : error;
  }
}

export function stdinOf(context: CliContext): ReadableStream<Uint8Array> {
  return context.stdin ?? Bun.stdin.stream();
}

/** `-` means stdin, anything else a file path (already resolved against the working directory). */
export function readInput(
  source: string,
  context: CliContext,
  maxBytes: number,
  label: string,
): Promise<Uint8Array> {
  if (source === "-") return readStreamBytes(stdinOf(context), maxBytes, `${label} (stdin)`);
  return readFileBytes(source, maxBytes, label);
}

export function utf8Of(bytes: Uint8Array, label: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw inputError(`${label}: not valid UTF-8`, error);
  }
}

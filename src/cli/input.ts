/**
 * Bounded reading of what a command is handed: a file named on the command line, or stdin. The
 * cap applies to the bytes actually read, so a FIFO, a device or a growing file cannot make the
 * CLI read without end. Errors name the flag and the path, never the content.
 */
import { open } from "node:fs/promises";
import { SurrogateError } from "../errors.ts";
import type { CliContext } from "./command.ts";

/** A problem with something given on the command line (a file, stdin, a flag's value). */
export function inputError(message: string, cause?: unknown): SurrogateError {
  return new SurrogateError("config_invalid", message, cause === undefined ? undefined : { cause });
}

export async function readFileBytes(path: string, maxBytes: number, label: string): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw inputError(`cannot read ${label} ${path}: ${errnoOf(error)}`, error);
  }
  try {
    if (!(await handle.stat()).isFile()) throw inputError(`${label} ${path}: not a regular file`);
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw inputError(`${label} ${path}: larger than ${maxBytes} bytes`);
    return buffer.slice(0, length);
  } finally {
    await handle.close();
  }
}

export function readStreamBytes(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  label: string,
): Promise<Uint8Array> {
  return readCapped(stream, maxBytes, () => inputError(`${label}: larger than ${maxBytes} bytes`));
}

/** Reads a stream to the end, failing with `tooLarge()` (and cancelling) once it passes `maxBytes`. */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return new Uint8Array(Buffer.concat(chunks));
    length += value.length;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
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

/** The errno code (ENOENT, EACCES …) says what went wrong without a stack or any content. */
export function errnoOf(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return "unreadable";
}

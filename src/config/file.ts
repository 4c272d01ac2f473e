import { open } from "node:fs/promises";
import { ConfigError } from "../errors.ts";

/**
 * Reads a regular file as UTF-8, refusing anything larger than `maxBytes`. The size is enforced on
 * the bytes actually read (not on an earlier `stat`), so a file that grows between the check and the
 * read, or a FIFO/device posing as a file, cannot make start-up read without bound.
 * Errors name `key` and the path, never the content.
 */
export async function readBoundedText(path: string, maxBytes: number, key: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${reason(error)}`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ConfigError(key, `${path} is not a regular file`);
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new ConfigError(key, `${path} is larger than ${maxBytes} bytes`);
    return decodeUtf8(buffer.subarray(0, length), path, key);
  } finally {
    await handle.close();
  }
}

function decodeUtf8(bytes: Uint8Array, path: string, key: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new ConfigError(key, `${path} is not valid UTF-8`, { cause: error });
  }
}

/** The errno code (ENOENT, EACCES …) says what went wrong without dragging in a stack or content. */
function reason(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return "unreadable";
}

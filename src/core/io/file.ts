import { open } from "node:fs/promises";

/** How a caller names each way a capped read can fail (its error class, its flag or key). */
export interface CappedReadErrors {
  unreadable(cause: unknown): Error;
  notAFile(): Error;
  tooLarge(): Error;
}

/**
 * Reads a regular file, refusing anything larger than `maxBytes`. The cap applies to the bytes
 * actually read (not to an earlier `stat`), so a file that grows between the check and the read, or
 * a FIFO or device posing as a file, cannot make the process read without bound.
 */
export async function readFileCapped(
  path: string,
  maxBytes: number,
  errors: CappedReadErrors,
): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw errors.unreadable(error);
  }
  try {
    if (!(await handle.stat()).isFile()) throw errors.notAFile();
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw errors.tooLarge();
    return buffer.slice(0, length);
  } finally {
    await handle.close();
  }
}

/** The errno code (ENOENT, EACCES …) says what went wrong without dragging in a stack or content. */
export function errnoOf(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return "unreadable";
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "path too long",
  EMFILE: "too many open files",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
};

/**
 * Why a file could not be read, for a person: the words and the errno code
 * ("permission denied (EACCES)"). Every "cannot read" message uses this one form: key or flag,
 * path, reason.
 */
export function reasonOf(error: unknown): string {
  const code = errnoOf(error);
  const words = REASONS[code];
  return words === undefined ? code : `${words} (${code})`;
}

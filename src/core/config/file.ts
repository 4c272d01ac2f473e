import { ConfigError } from "../errors.ts";
import { readFileCapped, reasonOf } from "../io/file.ts";

/**
 * Reads a regular file as UTF-8, refusing anything larger than `maxBytes` (capped on the bytes read:
 * ../io/file.ts). Errors name `key` and the path, never the content.
 */
export async function readBoundedText(path: string, maxBytes: number, key: string): Promise<string> {
  const bytes = await readFileCapped(path, maxBytes, {
    unreadable: (error) => new ConfigError(key, `cannot read ${path}: ${reasonOf(error)}`, { cause: error }),
    notAFile: () => new ConfigError(key, `${path} is not a regular file`),
    tooLarge: () => new ConfigError(key, `${path} is larger than ${maxBytes} bytes`),
  });
  return decodeUtf8(bytes, path, key);
}

function decodeUtf8(bytes: Uint8Array, path: string, key: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new ConfigError(key, `${path} is not valid UTF-8`, { cause: error });
  }
}

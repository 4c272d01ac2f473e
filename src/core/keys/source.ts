import { isAbsolute, join } from "node:path";
import type { Env } from "../config/types.ts";
import { KeysError } from "../errors.ts";
import { readFileCapped, reasonOf } from "../io/file.ts";

/** A key set is a handful of JWKs; anything larger is a mistake or an attack (bounded input). */
export const MAX_KEY_SET_BYTES = 256 * 1024;

const CREDENTIAL_NAME = /^[A-Za-z0-9._@-]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Reads the JWK Set text behind a source reference (DESIGN §6). One switch on the prefix;
 * `jwks:https://…` (public verification keys only) is fetched by loadKeySets, not read here.
 * `label` (e.g. `keys.signing`) and the reference itself name the source in errors; neither is secret.
 */
export async function readKeySource(label: string, source: string, env: Env): Promise<string> {
  const colon = source.indexOf(":");
  const scheme = colon < 0 ? "" : source.slice(0, colon);
  const rest = source.slice(colon + 1);
  const where = `${label} (${source})`;
  switch (scheme) {
    case "file":
      return readKeyFile(rest, where);
    case "env":
      return readEnv(rest, env, where);
    case "credential":
      return readCredential(rest, env, where);
    case "jwks":
      // Public keys fetched over the network: loadKeySets handles them (src/core/keys/remote-jwks.ts).
      throw new KeysError(`${label}: a jwks: source holds public signing keys only`);
    default:
      throw new KeysError(`${label}: source must start with file:, env: or credential:`);
  }
}

/** Capped on the bytes read (../io/file.ts); errors name the key, the path and why. */
export async function readKeyFile(path: string, where: string): Promise<string> {
  if (path === "") throw new KeysError(`${where}: empty path`);
  const bytes = await readFileCapped(path, MAX_KEY_SET_BYTES, {
    unreadable: (error) => new KeysError(`${where}: cannot read ${path}: ${reasonOf(error)}`),
    notAFile: () => new KeysError(`${where}: ${path} is not a regular file`),
    tooLarge: () => new KeysError(`${where}: ${path} is larger than ${MAX_KEY_SET_BYTES} bytes`),
  });
  return Buffer.from(bytes).toString("utf8");
}

/** `env:VAR` holds the JWK Set JSON, or its base64 (easier to pass through systems that mangle quotes). */
function readEnv(name: string, env: Env, where: string): string {
  const value = env[name];
  if (name === "" || value === undefined || value.trim() === "")
    throw new KeysError(`${where}: variable not set`);
  if (value.length > MAX_KEY_SET_BYTES * 2) throw new KeysError(`${where}: value too large`);
  const trimmed = value.trim();
  if (trimmed.startsWith("{")) return trimmed;
  const compact = trimmed.replace(/\s+/g, "");
  if (!BASE64.test(compact)) throw new KeysError(`${where}: neither JSON nor base64`);
  const decoded = Buffer.from(
    compact,
    compact.includes("-") || compact.includes("_") ? "base64url" : "base64",
  );
  if (decoded.length > MAX_KEY_SET_BYTES)
    throw new KeysError(`${where}: larger than ${MAX_KEY_SET_BYTES} bytes`);
  return decoded.toString("utf8");
}

/** systemd `LoadCredential=`: the name is one plain file name inside $CREDENTIALS_DIRECTORY, never a path. */
function readCredential(name: string, env: Env, where: string): Promise<string> {
  if (!CREDENTIAL_NAME.test(name) || name.includes("..") || name === ".") {
    throw new KeysError(`${where}: credential name must be a plain file name`);
  }
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir === undefined || dir === "" || !isAbsolute(dir)) {
    throw new KeysError(`${where}: $CREDENTIALS_DIRECTORY is not set to an absolute path`);
  }
  return readKeyFile(join(dir, name), where);
}

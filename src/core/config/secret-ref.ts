import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { Secret } from "../secret.ts";
import { readBoundedText } from "./file.ts";
import type { Env } from "./types.ts";

/** A secret file larger than this is a mistake (wrong path), not a secret. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

const REFERENCE = /^(env|file|credential):/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `value` is written as a reference rather than a literal. */
export function isSecretRef(value: string): boolean {
  return REFERENCE.test(value);
}

/**
 * Resolves `env:NAME`, `file:/path` or `credential:NAME` (systemd `LoadCredential=`, read from
 * `$CREDENTIALS_DIRECTORY/NAME`) into a Secret. Anything else is refused: a literal secret in the
 * config file ends up in backups, diffs and support tickets, so it is never accepted. Errors name
 * `key` and never echo the value, which may itself be a secret pasted in the wrong place.
 * A relative `file:` path is resolved against `baseDir` (the config file's directory) when given.
 */
export async function resolveSecretRef(
  ref: string,
  env: Env,
  key: string,
  options?: { baseDir?: string },
): Promise<Secret> {
  const match = REFERENCE.exec(ref);
  if (!match) {
    throw new ConfigError(
      key,
      "a literal secret is not accepted; use env:NAME, file:/path or credential:NAME",
    );
  }
  const target = ref.slice(match[0].length);
  const value = await readReference(match[1] ?? "", target, env, key, options?.baseDir);
  if (value.length === 0) throw new ConfigError(key, `${ref} is empty`);
  return new Secret(value);
}

function readReference(
  scheme: string,
  target: string,
  env: Env,
  key: string,
  baseDir: string | undefined,
): Promise<string> | string {
  if (scheme === "env") return fromEnv(target, env, key);
  if (scheme === "file") return fromFile(target, key, baseDir);
  return fromCredential(target, env, key);
}

function fromEnv(name: string, env: Env, key: string): string {
  if (!ENV_NAME.test(name)) throw new ConfigError(key, "env: must name an environment variable (env:NAME)");
  const value = env[name];
  if (value === undefined) throw new ConfigError(key, `env:${name} is not set`);
  return value;
}

async function fromFile(path: string, key: string, baseDir: string | undefined): Promise<string> {
  if (path.length === 0) throw new ConfigError(key, "file: must name a file (file:/path)");
  const absolute = isAbsolute(path) ? path : resolve(baseDir ?? ".", path);
  return stripFinalNewline(await readBoundedText(absolute, MAX_SECRET_FILE_BYTES, key));
}

/**
 * systemd places credentials in a private, per-service directory (systemd.exec(5) "Credentials");
 * the name is confined to that directory so a reference cannot climb out of it.
 */
async function fromCredential(name: string, env: Env, key: string): Promise<string> {
  if (name.length === 0 || name.includes("/") || name.includes("..") || name.includes("\0")) {
    throw new ConfigError(key, "credential: must be a plain credential name without '/' or '..'");
  }
  const directory = env.CREDENTIALS_DIRECTORY;
  if (!directory) {
    throw new ConfigError(
      key,
      `credential:${name} needs CREDENTIALS_DIRECTORY (set by systemd LoadCredential=)`,
    );
  }
  const text = await readBoundedText(resolve(directory, name), MAX_SECRET_FILE_BYTES, key);
  return stripFinalNewline(text);
}

/** Editors and `echo` add one trailing newline; a secret never legitimately ends with one. */
function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}

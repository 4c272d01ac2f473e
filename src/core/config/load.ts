import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { readBoundedText } from "./file.ts";
import { checkSchema } from "./schema.ts";
import { buildSections } from "./sections.ts";
import { parseToml } from "./toml.ts";
import type { Config, Env } from "./types.ts";

/** A configuration file larger than this is not a configuration file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** `SURROGATE_CONFIG`, else `surrogate.toml` in the working directory (DESIGN §7). */
export function configPath(env: Env): string {
  return env.SURROGATE_CONFIG ?? "surrogate.toml";
}

/** Reads, validates and resolves the configuration file; relative paths inside it are relative to it. */
export async function loadConfig(path: string, env: Env): Promise<Config> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  const text = await readBoundedText(absolute, MAX_CONFIG_BYTES, "config");
  return parseConfig(text, env, { baseDir: dirname(absolute) });
}

/**
 * Parses TOML text into a Config: schema check (unknown keys refused), defaults filled, secret
 * references resolved. Throws ConfigError (`config_invalid`) whose message starts with the key.
 */
export async function parseConfig(text: string, env: Env, options?: { baseDir?: string }): Promise<Config> {
  if (text.length > MAX_CONFIG_BYTES)
    throw new ConfigError("config", `is larger than ${MAX_CONFIG_BYTES} bytes`);
  const raw = checkSchema(parseToml(text));
  return buildSections(raw, env, options?.baseDir ?? process.cwd());
}

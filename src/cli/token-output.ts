/**
 * Where a login or refresh result goes: stdout, or a file written atomically with mode 0600.
 * stdout carries only the token (or the JSON), so `$(surrogate login …)` captures exactly it.
 */
import { randomBytes } from "node:crypto";
import { access, constants, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { reasonOf } from "../core/io/file.ts";
import type { TokenResponse } from "./broker-reply.ts";
import type { CliContext } from "./command.ts";
import { inputError } from "./input.ts";
import { formatDuration } from "./token-description.ts";

export interface OutputOptions {
  out?: string | undefined;
  json?: boolean | undefined;
}

export const OUTPUT_OPTION_SPEC = {
  out: { type: "string" },
  json: { type: "boolean" },
} as const;

export const OUTPUT_OPTIONS_HELP = `Output:
  --out FILE     write the result to FILE (mode 0600, replaced atomically) instead of stdout
  --json         write {access_token, refresh_token?, expires_in, scope, token_type} instead of
                 only the access wrapper (keep this if you want to run "surrogate refresh" later)
`;

export function formatTokenResponse(response: TokenResponse, json: boolean): string {
  if (!json) return `${response.access_token}\n`;
  const body = {
    access_token: response.access_token,
    ...(response.refresh_token === undefined ? {} : { refresh_token: response.refresh_token }),
    expires_in: response.expires_in,
    scope: response.scope,
    token_type: response.token_type,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export async function writeTokenResponse(
  response: TokenResponse,
  options: OutputOptions,
  context: CliContext,
): Promise<void> {
  const json = options.json === true;
  const text = formatTokenResponse(response, json);
  const path = options.out === undefined ? undefined : resolve(context.cwd, options.out);
  if (path === undefined) context.stdout.write(text);
  else await writePrivateFile(path, text);
  context.stderr.write(`${outcomeLine(response, json, path)}\n`);
}

/** The one line on stderr that says the command succeeded, where the result went and for how long. */
function outcomeLine(response: TokenResponse, json: boolean, path: string | undefined): string {
  const written = `wrapper written to ${path ?? "stdout"}, expires in ${formatDuration(response.expires_in)}`;
  if (response.refresh_token === undefined) return written;
  return json
    ? `${written} (with its refresh wrapper: surrogate refresh --in ${path ?? "FILE"} --json)`
    : `${written}; a refresh wrapper was issued too: use --json to keep it`;
}

/**
 * Checked before a grant is created: the result is handed out once, so failing to write it after
 * the person approved would waste their approval.
 */
export async function checkOutputDirectory(options: OutputOptions, context: CliContext): Promise<void> {
  if (options.out === undefined) return;
  const directory = dirname(resolve(context.cwd, options.out));
  try {
    await access(directory, constants.W_OK);
  } catch (error) {
    throw inputError(`cannot write --out ${options.out}: directory ${directory}: ${reasonOf(error)}`, error);
  }
}

/**
 * Wrappers are credentials (usable with the workload's key): created 0600 from the first byte
 * under a temporary name, then renamed over the target so a reader never sees half a token and
 * an existing file's looser mode is not inherited.
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw inputError(`cannot write --out ${path}: ${reasonOf(error)}`, error);
  }
}

import type { Env } from "../core/config/types.ts";

/**
 * Where a command writes text. Tests pass a collecting writer; main passes the process streams.
 * Bytes are UTF-8 text already encoded (`serve`'s batched log lines); `done`, if given, is called
 * once the writer no longer reads them (the caller then uses the buffer again).
 */
export interface Writer {
  write(text: string | Uint8Array, done?: () => void): void;
}

export interface CliContext {
  env: Env;
  stdout: Writer;
  stderr: Writer;
  /** Working directory that relative paths given on the command line are resolved against. */
  cwd: string;
  /** Standard input; defaults to the process's stdin (secrets are read from here, never from argv). */
  stdin?: ReadableStream<Uint8Array>;
  /** Whether stderr is a terminal (live progress lines); defaults to the process's stderr. */
  isTTY?: boolean;
  /** Injected for tests: waiting between polls, and the clock (epoch ms). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * One `surrogate <name>` command. `run` returns the process exit code: 0 success, 1 failure,
 * 2 usage error (the convention of getopt-based tools). `--help` is handled before `run` is called.
 */
export interface Command {
  name: string;
  /** One line for the command list in `surrogate --help`. */
  summary: string;
  /** Full help text printed for `surrogate <name> --help`, ending with a newline. */
  usage: string;
  run(args: string[], context: CliContext): Promise<number>;
}

/** Exit code for a command-line usage error. */
export const EXIT_USAGE = 2;

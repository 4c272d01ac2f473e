import type { CliContext } from "../../../src/cli/command.ts";
import { runCli } from "../../../src/cli/run.ts";
import type { Env } from "../../../src/core/config/types.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CliOptions = Partial<Omit<CliContext, "env" | "stdout" | "stderr">> & {
  env?: Env;
  /** Becomes stdin. */
  input?: string;
};

/** Runs `surrogate <argv>` in-process with collected output, as it would from `cwd`. */
export async function cli(argv: string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const { env, input, ...io } = options;
  const code = await runCli(argv, env ?? {}, {
    cwd: process.cwd(),
    ...io,
    ...(input === undefined ? {} : { stdin: new Blob([input]).stream() }),
    stdout: {
      // `serve` writes its batched log lines as UTF-8 bytes.
      write: (text) => {
        stdout += typeof text === "string" ? text : new TextDecoder().decode(text);
      },
    },
    stderr: {
      write: (text) => {
        stderr += typeof text === "string" ? text : new TextDecoder().decode(text);
      },
    },
  });
  return { code, stdout, stderr };
}

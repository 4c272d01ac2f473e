import { runCli } from "../../../src/cli/run.ts";
import type { Env } from "../../../src/config/types.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with collected output, as `surrogate <argv>` would from `cwd`. */
export async function cli(argv: string[], options: { env?: Env; cwd?: string } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, options.env ?? {}, {
    stdout: {
      write: (text) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text) => {
        stderr += text;
      },
    },
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}

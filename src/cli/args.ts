import { type ParseArgsConfig, parseArgs } from "node:util";
import type { CliContext, Command } from "./command.ts";
import { EXIT_USAGE } from "./command.ts";

type StrictConfig = ParseArgsConfig & { args: string[]; strict: true };

/**
 * node:util parseArgs in strict mode (unknown options and missing values are errors, so a typo such
 * as `--outt` is not silently ignored). On a usage error it prints the problem and the command's
 * usage to stderr and returns the exit code to use instead of the parsed values.
 */
export function parseCommandArgs<T extends StrictConfig>(
  command: Command,
  config: T,
  context: CliContext,
): ReturnType<typeof parseArgs<T>> | number {
  try {
    return parseArgs(config);
  } catch (error) {
    return usageError(command, error instanceof Error ? error.message : "invalid arguments", context);
  }
}

/** Prints `surrogate <name>: <problem>` and the usage to stderr; returns the usage exit code. */
export function usageError(command: Command, problem: string, context: CliContext): number {
  context.stderr.write(`surrogate ${command.name}: ${problem}\n\n${command.usage}`);
  return EXIT_USAGE;
}

import type { Env } from "../core/config/types.ts";
import { SurrogateError } from "../core/errors.ts";
import type { CliContext, Command, Writer } from "./command.ts";
import { EXIT_USAGE } from "./command.ts";
import { COMMANDS, type CommandEntry, loadCommands } from "./commands.ts";

const HELP_FLAGS = new Set(["--help", "-h"]);

/**
 * Entry point of `surrogate` (src/main.ts). Dispatches to a command; `--help`, `-h` and `help [command]`
 * print usage to stdout (exit 0); an unknown or missing command prints usage to stderr (exit 2).
 * `io` lets tests capture output; by default it is the process's streams and working directory.
 */
export async function runCli(
  argv: string[],
  env: Env,
  io?: Partial<Omit<CliContext, "env">>,
): Promise<number> {
  const context: CliContext = {
    ...io,
    env,
    stdout: io?.stdout ?? streamWriter(process.stdout),
    stderr: io?.stderr ?? streamWriter(process.stderr),
    cwd: io?.cwd ?? process.cwd(),
  };
  const [name, ...args] = argv;
  if (name === undefined) return fail(context, "no command given");
  if (HELP_FLAGS.has(name)) return help(args[0], context);
  if (name === "help") return help(args[0], context);
  if (name === "--version") return run(await findCommand("version")?.load(), [], context);
  const command = await findCommand(name)?.load();
  if (command === undefined) return fail(context, `unknown command ${JSON.stringify(name)}`);
  if (wantsHelp(args)) {
    context.stdout.write(command.usage);
    return 0;
  }
  return run(command, args, context);
}

/** The list shown by `surrogate --help`. */
export async function globalUsage(): Promise<string> {
  const commands = await loadCommands();
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: surrogate <command> [options]

Commands:
${lines.join("\n")}

Run "surrogate <command> --help" for a command's options.
`;
}

function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** `--help` anywhere before a `--` terminator; after it, the text is an argument, not a flag. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

async function help(topic: string | undefined, context: CliContext): Promise<number> {
  if (topic === undefined) {
    context.stdout.write(await globalUsage());
    return 0;
  }
  const command = await findCommand(topic)?.load();
  if (command === undefined) return fail(context, `unknown command ${JSON.stringify(topic)}`);
  context.stdout.write(command.usage);
  return 0;
}

async function fail(context: CliContext, problem: string): Promise<number> {
  context.stderr.write(`surrogate: ${problem}\n\n${await globalUsage()}`);
  return EXIT_USAGE;
}

/**
 * Known failures print their stable code; anything else is reported by message only. SurrogateError
 * messages never contain secrets by contract, so they are safe to print.
 */
async function run(command: Command | undefined, args: string[], context: CliContext): Promise<number> {
  if (command === undefined) return fail(context, "command not available");
  try {
    return await command.run(args, context);
  } catch (error) {
    const detail =
      error instanceof SurrogateError
        ? `${error.message} (${error.code})`
        : error instanceof Error
          ? error.message
          : "failed";
    context.stderr.write(`surrogate ${command.name}: ${detail}\n`);
    return 1;
  }
}

function streamWriter(stream: NodeJS.WriteStream): Writer {
  // Node's contract, which Bun keeps: the callback runs once the chunk has been handed on.
  return { write: (text, done) => void stream.write(text, done) };
}

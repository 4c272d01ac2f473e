import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { inputError, readStreamBytes, stdinOf, utf8Of } from "./input.ts";
import { MAX_TYPED, readHidden, stdinIsTerminal } from "./terminal.ts";

const MIN_PASSWORD = 8;

export const adminCommand: Command = {
  name: "admin",
  summary: "Operator UI helpers: hash-password makes the [admin] password hash",
  usage: `Usage: surrogate admin hash-password

Prints a hash of a new admin password for [admin] password (docs/configuration.md), and nothing
else on stdout:

  surrogate admin hash-password > /etc/surrogate/secrets/admin.hash
  # surrogate.toml:  [admin]  password = "credential:admin.hash"  (or "file:/etc/…/admin.hash")

At a terminal it asks twice and shows nothing while you type. Piped, it reads one line from stdin:
  printf '%s\\n' "$PASSWORD" | surrogate admin hash-password
The hash is argon2id. A bcrypt hash from htpasswd ($2y$, $2b$ or $2a$) is accepted as well.
`,
  async run(args, context) {
    const [action, ...rest] = args;
    if (action !== "hash-password") {
      const problem =
        action === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(action)}`;
      return usageError(adminCommand, problem, context);
    }
    const parsed = parseCommandArgs(
      adminCommand,
      { args: rest, strict: true, options: {}, allowPositionals: false },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const password = stdinIsTerminal(context.stdin) ? await typedTwice(context) : await piped(context);
    checkPassword(password);
    context.stdout.write(`${await Bun.password.hash(password, { algorithm: "argon2id" })}\n`);
    return 0;
  },
};

async function typedTwice(context: CliContext): Promise<string> {
  const first = await readHidden("New admin password: ", context.stderr);
  checkPassword(first);
  const second = await readHidden("The same password again: ", context.stderr);
  if (first !== second) throw inputError("the two passwords differ; nothing written");
  return first;
}

/** One line (one trailing newline removed), as `printf '%s\n'` or a file gives it. */
async function piped(context: CliContext): Promise<string> {
  const text = utf8Of(await readStreamBytes(stdinOf(context), MAX_TYPED + 2, "stdin"), "stdin");
  const password = text.replace(/\r?\n$/, "");
  if (/[\r\n]/.test(password)) throw inputError("stdin: more than one line; give the password on one line");
  return password;
}

function checkPassword(password: string): void {
  if (password === "") throw inputError("the password is empty; nothing written");
  if (password.length < MIN_PASSWORD)
    throw inputError(`the password is shorter than ${MIN_PASSWORD} characters`);
  if (password.length > MAX_TYPED) throw inputError(`the password is longer than ${MAX_TYPED} characters`);
}

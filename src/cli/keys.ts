import { resolve } from "node:path";
import { rotateKeySetsInDir, type WrittenKeySets, writeKeySetsToDir } from "../keys/files.ts";
import type { SigningAlg } from "../keys/types.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";

const ALGS: readonly SigningAlg[] = ["ES256", "EdDSA"];

export const keysCommand: Command = {
  name: "keys",
  summary: "Generate or rotate the broker's signing and encryption key sets",
  usage: `Usage:
  surrogate keys generate --out DIR [--alg ES256|EdDSA]
  surrogate keys rotate --dir DIR [--alg ES256|EdDSA]

generate  writes DIR/signing.jwks and DIR/encryption.jwks (mode 0600, directory 0700);
          refuses to overwrite existing files.
rotate    prepends a new key to both sets in DIR; older keys keep verifying and decrypting
          wrappers already issued. Remove retired keys by hand once those have expired.

Options:
  --out DIR    directory to create the key sets in (generate)
  --dir DIR    directory holding the key sets (rotate)
  --alg ALG    signing algorithm of the new key: ES256 (default) or EdDSA
`,
  async run(args, context) {
    const [action, ...rest] = args;
    if (action === "generate") return generate(rest, context);
    if (action === "rotate") return rotate(rest, context);
    return usageError(
      keysCommand,
      action === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(action)}`,
      context,
    );
  },
};

async function generate(args: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(
    keysCommand,
    { args, strict: true, options: { out: { type: "string" }, alg: { type: "string" } } },
    context,
  );
  if (typeof parsed === "number") return parsed;
  const alg = parseAlg(parsed.values.alg, context);
  if (typeof alg === "number") return alg;
  if (parsed.values.out === undefined) return usageError(keysCommand, "generate needs --out DIR", context);
  const written = await writeKeySetsToDir(resolve(context.cwd, parsed.values.out), alg);
  report("generated", written, context);
  return 0;
}

async function rotate(args: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(
    keysCommand,
    { args, strict: true, options: { dir: { type: "string" }, alg: { type: "string" } } },
    context,
  );
  if (typeof parsed === "number") return parsed;
  const alg = parseAlg(parsed.values.alg, context);
  if (typeof alg === "number") return alg;
  if (parsed.values.dir === undefined) return usageError(keysCommand, "rotate needs --dir DIR", context);
  const written = await rotateKeySetsInDir(resolve(context.cwd, parsed.values.dir), alg);
  report("rotated", written, context);
  return 0;
}

function parseAlg(value: string | undefined, context: CliContext): SigningAlg | number {
  if (value === undefined) return "ES256";
  const alg = ALGS.find((candidate) => candidate === value);
  return alg ?? usageError(keysCommand, `--alg must be ${ALGS.join(" or ")}`, context);
}

/** Prints paths and kids only: the key material stays in the files. */
function report(verb: string, written: WrittenKeySets, context: CliContext): void {
  context.stdout.write(`${verb} key sets:
  ${written.signingPath}  (signing kid ${written.signingKid})
  ${written.encryptionPath}  (encryption kid ${written.encryptionKid})

In surrogate.toml:
  [keys]
  signing = "file:${written.signingPath}"
  encryption = "file:${written.encryptionPath}"
`);
}

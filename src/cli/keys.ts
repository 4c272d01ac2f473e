import { resolve } from "node:path";
import {
  promoteKeySetsInDir,
  retireKeyInDir,
  rotateKeySetsInDir,
  type WrittenKeySets,
  writeKeySetsToDir,
} from "../core/keys/files.ts";
import type { SigningAlg } from "../core/keys/types.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";

const ALGS: readonly SigningAlg[] = ["ES256", "EdDSA"];

export const keysCommand: Command = {
  name: "keys",
  summary: "Generate, rotate, promote or retire the broker's signing and encryption key sets",
  usage: `Usage:
  surrogate keys generate --out DIR [--alg ES256|EdDSA]
  surrogate keys rotate --dir DIR [--alg ES256|EdDSA] [--stage]
  surrogate keys promote --dir DIR
  surrogate keys retire --dir DIR --kid KID

generate  writes DIR/signing.jwks and DIR/encryption.jwks (mode 0600, directory 0700);
          refuses to overwrite existing files.
rotate    adds a new key to both sets in DIR, first (it signs and encrypts from the next reload);
          older keys keep verifying and decrypting wrappers already issued.
          --stage puts it second instead: instances learn it (and accept wrappers made with it)
          before any uses it. With several instances: stage, deploy everywhere, then promote.
promote   makes the second key of each set the first (the staged key goes into use).
retire    removes the key KID from its set once no wrapper made with it can still be valid
          (see docs/operations.md); the key in use cannot be retired.
Every change validates both sets before and after and replaces each file atomically.

Options:
  --out DIR    directory to create the key sets in (generate)
  --dir DIR    directory holding the key sets (rotate, promote, retire)
  --alg ALG    signing algorithm of the new key: ES256 (default) or EdDSA
  --stage      rotate: add the new key second, not first
  --kid KID    retire: the key id to remove
`,
  async run(args, context) {
    const [action, ...rest] = args;
    if (action === "generate") return generate(rest, context);
    if (action === "rotate") return rotate(rest, context);
    if (action === "promote") return promote(rest, context);
    if (action === "retire") return retire(rest, context);
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
    {
      args,
      strict: true,
      options: { dir: { type: "string" }, alg: { type: "string" }, stage: { type: "boolean" } },
    },
    context,
  );
  if (typeof parsed === "number") return parsed;
  const alg = parseAlg(parsed.values.alg, context);
  if (typeof alg === "number") return alg;
  if (parsed.values.dir === undefined) return usageError(keysCommand, "rotate needs --dir DIR", context);
  const stage = parsed.values.stage === true;
  const written = await rotateKeySetsInDir(resolve(context.cwd, parsed.values.dir), alg, { stage });
  report(stage ? "staged a new key in" : "rotated", written, context);
  return 0;
}

async function promote(args: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(
    keysCommand,
    { args, strict: true, options: { dir: { type: "string" } } },
    context,
  );
  if (typeof parsed === "number") return parsed;
  if (parsed.values.dir === undefined) return usageError(keysCommand, "promote needs --dir DIR", context);
  report("promoted", await promoteKeySetsInDir(resolve(context.cwd, parsed.values.dir)), context);
  return 0;
}

async function retire(args: string[], context: CliContext): Promise<number> {
  const parsed = parseCommandArgs(
    keysCommand,
    { args, strict: true, options: { dir: { type: "string" }, kid: { type: "string" } } },
    context,
  );
  if (typeof parsed === "number") return parsed;
  const { dir, kid } = parsed.values;
  if (dir === undefined || kid === undefined)
    return usageError(keysCommand, "retire needs --dir DIR --kid KID", context);
  report(`retired ${kid} from`, await retireKeyInDir(resolve(context.cwd, dir), kid), context);
  return 0;
}

function parseAlg(value: string | undefined, context: CliContext): SigningAlg | number {
  if (value === undefined) return "ES256";
  const alg = ALGS.find((candidate) => candidate === value);
  return alg ?? usageError(keysCommand, `--alg must be ${ALGS.join(" or ")}`, context);
}

/** Prints paths and kids only: the key material stays in the files. */
/** Only the first key is in use; the others are named apart so the list cannot read as "all in use". */
function roles(kids: readonly string[], use: string, accept: string): string {
  const [first, ...others] = kids;
  const also = others.length === 0 ? "" : `; also ${accept} ${others.join(", ")}`;
  return `${use} with kid ${first ?? "none"}${also}`;
}

function report(verb: string, written: WrittenKeySets, context: CliContext): void {
  context.stdout.write(`${verb} key sets:
  ${written.signingPath}  (${roles(written.signingKids, "signs", "verifies")})
  ${written.encryptionPath}  (${roles(written.encryptionKids, "encrypts", "decrypts")})

In surrogate.toml:
  [keys]
  signing = "file:${written.signingPath}"
  encryption = "file:${written.encryptionPath}"
`);
}

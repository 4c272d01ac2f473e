import { COMMIT, VERSION } from "../core/version.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

export const versionCommand: Command = {
  name: "version",
  summary: "Print the version of this surrogate build",
  usage: `Usage: surrogate version

Prints the surrogate version, the commit it was built from and the Bun runtime version.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      versionCommand,
      { args, options: {}, strict: true, allowPositionals: false },
      context,
    );
    if (typeof parsed === "number") return parsed;
    context.stdout.write(`surrogate ${VERSION} (${COMMIT}; bun ${Bun.version})\n`);
    return 0;
  },
};

import type { Command } from "./command.ts";

export const devCommand: Command = {
  name: "dev",
  summary: "Zero-setup demo: local CA, certificates, keys, demo identity provider and upstream",
  usage: "Usage: surrogate dev [options]\n",
  async run(_args, context) {
    context.stderr.write("surrogate dev: not implemented yet\n");
    return 1;
  },
};

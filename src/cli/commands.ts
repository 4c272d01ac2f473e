import type { Command } from "./command.ts";
import { devCommand } from "./dev.ts";
import { keysCommand } from "./keys.ts";
import { serveCommand } from "./serve.ts";
import { versionCommand } from "./version.ts";

/** Every `surrogate <command>`, in the order `surrogate --help` lists them. Add one entry per command. */
export const COMMANDS: readonly Command[] = [serveCommand, devCommand, keysCommand, versionCommand];

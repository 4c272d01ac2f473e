import type { Command } from "./command.ts";
import { keysCommand } from "./keys.ts";
import { versionCommand } from "./version.ts";

/** Every `surrogate <command>`, in the order `surrogate --help` lists them. Add one entry per command. */
export const COMMANDS: readonly Command[] = [keysCommand, versionCommand];

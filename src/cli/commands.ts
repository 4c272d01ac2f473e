import type { Command } from "./command.ts";
import { devCommand } from "./dev.ts";
import { inspectCommand } from "./inspect.ts";
import { keysCommand } from "./keys.ts";
import { loginCommand } from "./login.ts";
import { refreshCommand } from "./refresh.ts";
import { revokeCommand } from "./revoke.ts";
import { sealCommand } from "./seal.ts";
import { serveCommand } from "./serve.ts";
import { versionCommand } from "./version.ts";

/** Every `surrogate <command>`, in the order `surrogate --help` lists them. Add one entry per command. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  devCommand,
  loginCommand,
  refreshCommand,
  inspectCommand,
  sealCommand,
  keysCommand,
  revokeCommand,
  versionCommand,
];

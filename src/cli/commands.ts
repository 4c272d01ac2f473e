import { adminCommand } from "./admin.ts";
import { agentCommand } from "./agent-command.ts";
import type { Command } from "./command.ts";
import { devCommand } from "./dev.ts";
import { inspectCommand } from "./inspect.ts";
import { keysCommand } from "./keys.ts";
import { loginCommand } from "./login.ts";
import { refreshCommand } from "./refresh.ts";
import { revokeCommand } from "./revoke.ts";
import { runCommand } from "./run-command.ts";
import { sealCommand } from "./seal.ts";
import { serveCommand } from "./serve.ts";
import { versionCommand } from "./version.ts";

/** Every `surrogate <command>`, in the order `surrogate --help` lists them. Add one entry per command. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  devCommand,
  loginCommand,
  refreshCommand,
  runCommand,
  agentCommand,
  inspectCommand,
  sealCommand,
  keysCommand,
  revokeCommand,
  adminCommand,
  versionCommand,
];

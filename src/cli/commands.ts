import type { Command } from "./command.ts";

/**
 * A command by name; its code (and everything it imports) is loaded only when it runs or its help
 * is shown, so a long-running `serve` does not carry the demo IdP, the companion or the QR renderer.
 */
export interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

/** Every `surrogate <command>`, in the order `surrogate --help` lists them. Add one entry per command. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "serve", load: async () => (await import("./serve.ts")).serveCommand },
  { name: "dev", load: async () => (await import("./dev.ts")).devCommand },
  { name: "login", load: async () => (await import("./login.ts")).loginCommand },
  { name: "refresh", load: async () => (await import("./refresh.ts")).refreshCommand },
  { name: "run", load: async () => (await import("./run-command.ts")).runCommand },
  { name: "agent", load: async () => (await import("./agent-command.ts")).agentCommand },
  { name: "inspect", load: async () => (await import("./inspect.ts")).inspectCommand },
  { name: "seal", load: async () => (await import("./seal.ts")).sealCommand },
  { name: "keys", load: async () => (await import("./keys.ts")).keysCommand },
  { name: "revoke", load: async () => (await import("./revoke.ts")).revokeCommand },
  { name: "admin", load: async () => (await import("./admin.ts")).adminCommand },
  { name: "version", load: async () => (await import("./version.ts")).versionCommand },
];

/** Every command loaded, for the command list and for tests. */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMANDS.map((entry) => entry.load()));
}

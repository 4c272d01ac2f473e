import { resolve } from "node:path";
import type { DevPorts } from "../dev/config-text.ts";
import { devBanner, devCommands, selfInvocation } from "../dev/instructions.ts";
import { startDev } from "../dev/start.ts";
import { createLogger } from "../ops/log/logger.ts";
import { textLines } from "../ops/log/sink.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { Command } from "./command.ts";
import { instanceId, waitForSignals } from "./serve.ts";

const DEFAULT_PORTS: DevPorts = { web: 8080, agent: 8443, idp: 8081, upstream: 8444 };
const PORT_FLAGS = {
  web: "web-port",
  agent: "agent-port",
  idp: "idp-port",
  upstream: "upstream-port",
} as const;

export const devCommand: Command = {
  name: "dev",
  summary: "Zero-setup local demo: CA, certificates, keys, demo identity provider and upstream",
  usage: `Usage: surrogate dev [--dir DIR] [--admin] [--web-port N] [--agent-port N] [--idp-port N] [--upstream-port N]

Runs a complete local demo with nothing to prepare. Generates into DIR (reused on the next run) a
demo CA, a server certificate (localhost, 127.0.0.1), an agent certificate with the SPIFFE ID
spiffe://dev.surrogate.local/agents/demo, key sets, a client secret and a surrogate.toml; then
starts the web and agent ports, a built-in DEMO identity provider and a demo upstream API (an echo
that shows the Authorization header it received), and prints the commands to try the flow.

Everything listens on 127.0.0.1 only. A DIR holding only part of the material is refused, never
overwritten; delete it to start over.

Options:
  --dir DIR            workspace directory (default ./.surrogate-dev)
  --admin              also turn the admin UI (/admin) on, with a password generated at each start
                       and printed with its URL
  --web-port N         consent pages and callback (default 8080)
  --agent-port N       mTLS broker API and proxy (default 8443)
  --idp-port N         demo identity provider (default 8081)
  --upstream-port N    demo upstream API (default 8444)

Stop with Ctrl-C (SIGINT) or SIGTERM.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      devCommand,
      {
        args,
        strict: true,
        allowPositionals: false,
        options: {
          dir: { type: "string" },
          admin: { type: "boolean" },
          ...Object.fromEntries(Object.values(PORT_FLAGS).map((flag) => [flag, { type: "string" as const }])),
        },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const values = parsed.values as Record<string, string | undefined>;
    const admin = parsed.values.admin === true;
    const ports = parsePorts(values);
    if (typeof ports === "string") return usageError(devCommand, ports, context);
    const dir = resolve(context.cwd, values.dir ?? ".surrogate-dev");
    context.stderr.write(`surrogate dev: DEMO mode, preparing ${dir} …\n`);
    const logger = createLogger(
      textLines((line) => context.stdout.write(`${line}\n`)),
      instanceId(),
    );
    const running = await startDev({ dir, ports, env: context.env, logger, admin });
    // Handlers first: whoever reads the banner may signal at once (Ctrl-C, or a test's kill).
    const stopped = waitForSignals(running, logger);
    const commands = devCommands(running.workspace, ports, selfInvocation());
    context.stderr.write(devBanner(running.workspace, ports, commands));
    return stopped;
  },
};

/** Fixed ports, not 0: the printed commands and the broker's own issuer URL must name them. */
function parsePorts(values: Record<string, string | undefined>): DevPorts | string {
  const ports = { ...DEFAULT_PORTS };
  for (const [name, flag] of Object.entries(PORT_FLAGS) as [keyof DevPorts, string][]) {
    const text = values[flag];
    if (text === undefined) continue;
    const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return `--${flag} must be a port number from 1 to 65535`;
    ports[name] = port;
  }
  const distinct = new Set(Object.values(ports));
  if (distinct.size !== Object.keys(ports).length) return "the four ports must be different";
  return ports;
}

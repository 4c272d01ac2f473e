import { mkdtemp, rm } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import type { Companion } from "../companion/start.ts";
import { startCompanion } from "../companion/start.ts";
import { caBundle, childEnv } from "../companion/tool-env.ts";
import {
  AGENT_OPTION_SPEC,
  AGENT_OPTIONS_HELP,
  type AgentOptions,
  resolveAgentOptions,
} from "./agent-options.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { createCompanionBroker } from "./companion-broker.ts";
import {
  COMPANION_OPTION_SPEC,
  COMPANION_OPTIONS_HELP,
  type CompanionSettings,
  ensurePrivateDirectory,
  resolveCompanionOptions,
} from "./companion-options.ts";
import { loginCommand } from "./login.ts";

/** Shell convention (POSIX 2.8.2): command not found. */
const EXIT_NOT_FOUND = 127;
/** Signals a terminal or a supervisor sends to stop a job: passed on to the child, which decides. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

export const runCommand: Command = {
  name: "run",
  summary: "Run a command whose HTTP clients go through surrogate, unmodified (HTTPS_PROXY companion)",
  usage: `Usage: surrogate run [--provider NAME]... [--passthrough] [--env VAR=PROVIDER]... -- COMMAND [ARGS...]

Starts a private companion on a loopback port and runs COMMAND with HTTPS_PROXY pointing at it.
Requests to hosts of this workload's providers are sent through the surrogate proxy with the
provider's wrapper (the tool's own Authorization is dropped); the tool never sees a wrapper, a
key or a real token. A provider named with --provider that has no wrapper yet is logged in first
(the approval URL is printed to stderr). Nothing is printed to stdout but the command's own output.

The command gets: HTTPS_PROXY, HTTP_PROXY (and lower-case), http://surrogate:<credential>@127.0.0.1:<port>;
SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS, GIT_SSL_CAINFO: the
system roots plus the companion's CA; SURROGATE_BASE_URL, http://127.0.0.1:<port>/_/<credential>,
for clients that take a base URL (append /<host>/<path>); placeholder tokens (see --env).

${COMPANION_OPTIONS_HELP}
${AGENT_OPTIONS_HELP}
Exit status: the command's (128+N when a signal N ended it), 127 when it cannot be started,
1 when the companion cannot start, 2 usage error.
`,
  async run(args, context) {
    const end = args.indexOf("--");
    const command = end === -1 ? [] : args.slice(end + 1);
    const parsed = parseCommandArgs(
      runCommand,
      {
        args: end === -1 ? args : args.slice(0, end),
        strict: true,
        options: { ...AGENT_OPTION_SPEC, ...COMPANION_OPTION_SPEC },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    if (command.length === 0) return usageError(runCommand, "missing -- COMMAND [ARGS...]", context);
    const agent = resolveAgentOptions(parsed.values, context);
    if (typeof agent === "string") return usageError(runCommand, agent, context);
    const settings = resolveCompanionOptions(parsed.values, context);
    if (typeof settings === "string") return usageError(runCommand, settings, context);
    await ensurePrivateDirectory(settings.tokens);
    const companion = await startCompanion({
      broker: await createCompanionBroker(agent, context.stderr),
      providers: settings.providers,
      passthrough: settings.passthrough,
      tokens: settings.tokens,
      listen: { host: "127.0.0.1", port: 0 },
      stderr: context.stderr,
    });
    try {
      await loginMissing(companion, settings, agent, context);
      return await runChild(command, companion, settings, context);
    } finally {
      await companion.close();
    }
  },
};

/**
 * A provider named on the command line without a wrapper gets the person's approval now, before
 * the tool runs, rather than a failure in the middle of its work. Static providers have no login:
 * their wrappers come from an operator's `surrogate seal`.
 */
async function loginMissing(
  companion: Companion,
  settings: CompanionSettings,
  agent: AgentOptions,
  context: CliContext,
): Promise<void> {
  for (const name of settings.providers) {
    const provider = companion.providers.find((p) => p.name === name);
    if (provider === undefined || (await companion.wrappers.has(name))) continue;
    if (provider.kind === "static") {
      context.stderr.write(
        `surrogate run: no wrapper for static provider ${name}: an operator seals one ("surrogate seal"); save it as ${companion.wrappers.pathOf(name)}\n`,
      );
      continue;
    }
    const flags = ["--broker", agent.broker, "--cert", agent.certPath, "--key", agent.keyPath];
    if (agent.caPath !== undefined) flags.push("--ca", agent.caPath);
    // stdout is the child's: login writes its result to the file, and anything else to stderr.
    const code = await loginCommand.run(
      [name, "--json", "--out", companion.wrappers.pathOf(name), ...flags],
      { ...context, stdout: context.stderr },
    );
    if (code !== 0) throw new Error(`login for provider ${name} failed`);
  }
}

async function runChild(
  command: string[],
  companion: Companion,
  settings: CompanionSettings,
  context: CliContext,
): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), "surrogate-run-"));
  const signals = new Map<string, () => void>();
  try {
    const bundlePath = join(directory, "ca-bundle.pem");
    await Bun.write(bundlePath, await caBundle(companion.caPem, context.env));
    const env = childEnv(context.env, {
      port: companion.port,
      credential: companion.credential,
      bundlePath,
      providers: companion.providers,
      extra: settings.extra,
    });
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn(command, { cwd: context.cwd, env, stdio: ["inherit", "inherit", "inherit"] });
    } catch {
      context.stderr.write(
        `surrogate run: cannot run ${JSON.stringify(command[0])}: not found or not executable\n`,
      );
      return EXIT_NOT_FOUND;
    }
    for (const signal of FORWARDED) {
      const forward = () => child.kill(signal);
      signals.set(signal, forward);
      process.on(signal, forward);
    }
    const code = await child.exited;
    const signal = child.signalCode;
    // What a shell reports for a job a signal ended (POSIX 2.8.2), so `$?` reads the same.
    if (typeof signal === "string") return 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);
    return code;
  } finally {
    for (const [signal, forward] of signals) process.off(signal, forward);
    await rm(directory, { recursive: true, force: true });
  }
}

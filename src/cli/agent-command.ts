import { join, resolve } from "node:path";
import { baseUrl, proxyUrl } from "../companion/credential.ts";
import { startCompanion } from "../companion/start.ts";
import { caBundle, toolVariables } from "../companion/tool-env.ts";
import { parseListen } from "../core/config/listen.ts";
import { SurrogateError } from "../core/errors.ts";
import { AGENT_OPTION_SPEC, AGENT_OPTIONS_HELP, resolveAgentOptions } from "./agent-options.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { Command } from "./command.ts";
import { createCompanionBroker } from "./companion-broker.ts";
import {
  COMPANION_OPTION_SPEC,
  COMPANION_OPTIONS_HELP,
  ensurePrivateDirectory,
  resolveCompanionOptions,
} from "./companion-options.ts";
import { writePrivateFile } from "./token-output.ts";

/** RFC 6761 §6.3 / RFC 1122 §3.2.1.3: the companion speaks plain HTTP, so it never leaves the host. */
const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export const agentCommand: Command = {
  name: "agent",
  summary: "Run the companion as a long-running local proxy for an agent runtime (sidecar, user unit)",
  usage: `Usage: surrogate agent --listen 127.0.0.1:PORT --dir DIR [--provider NAME]... [--passthrough]

The companion of "surrogate run", for a runtime that starts its tools itself. It listens on a
loopback address and writes, each mode 0600 in DIR (created 0700):

  DIR/proxy-url      http://surrogate:<credential>@127.0.0.1:PORT  (HTTPS_PROXY for the tools)
  DIR/base-url       http://127.0.0.1:PORT/_/<credential>  (base-URL mode: append /<host>/<path>)
  DIR/ca.pem         the companion's CA certificate (its key exists only in this process)
  DIR/ca-bundle.pem  the system roots plus that CA (SSL_CERT_FILE and friends)
  DIR/env            every variable "surrogate run" would set, as NAME=value lines
                     (systemd EnvironmentFile=, or "set -a; . DIR/env")

The credential and the CA are new at every start. Wrappers are read from --tokens and refreshed
ahead of expiry; a provider without one is answered 401 with the "surrogate login" to run.
SIGTERM or SIGINT stops it.

  --listen HOST:PORT  loopback address to listen on (127.0.0.1:0 picks a free port)
  --dir DIR           where the files above are written
${COMPANION_OPTIONS_HELP}
${AGENT_OPTIONS_HELP}
Exit status: 0 stopped by a signal, 1 could not start, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      agentCommand,
      {
        args,
        strict: true,
        options: {
          ...AGENT_OPTION_SPEC,
          ...COMPANION_OPTION_SPEC,
          listen: { type: "string" },
          dir: { type: "string" },
        },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const { listen: listenText, dir } = parsed.values;
    if (listenText === undefined) return usageError(agentCommand, "missing --listen 127.0.0.1:PORT", context);
    if (dir === undefined) return usageError(agentCommand, "missing --dir DIR", context);
    let listen: { host: string; port: number };
    try {
      listen = parseListen(listenText, "--listen");
    } catch (error) {
      return usageError(agentCommand, error instanceof SurrogateError ? error.message : "--listen", context);
    }
    if (!LOOPBACK.test(listen.host)) {
      return usageError(
        agentCommand,
        "--listen: only a loopback address (the companion speaks plain HTTP)",
        context,
      );
    }
    const agent = resolveAgentOptions(parsed.values, context);
    if (typeof agent === "string") return usageError(agentCommand, agent, context);
    const settings = resolveCompanionOptions(parsed.values, context);
    if (typeof settings === "string") return usageError(agentCommand, settings, context);
    const out = resolve(context.cwd, dir);
    await ensurePrivateDirectory(settings.tokens);
    await ensurePrivateDirectory(out);
    const companion = await startCompanion({
      broker: await createCompanionBroker(agent, context.stderr),
      providers: settings.providers,
      passthrough: settings.passthrough,
      tokens: settings.tokens,
      listen,
      stderr: context.stderr,
    });
    const bundlePath = join(out, "ca-bundle.pem");
    const variables = toolVariables({
      port: companion.port,
      credential: companion.credential,
      bundlePath,
      providers: companion.providers,
      extra: settings.extra,
    });
    await writePrivateFile(join(out, "ca.pem"), companion.caPem);
    await writePrivateFile(bundlePath, await caBundle(companion.caPem, context.env));
    await writePrivateFile(join(out, "base-url"), `${baseUrl(companion.credential, companion.port)}\n`);
    await writePrivateFile(join(out, "env"), variables.map(([name, value]) => `${name}=${value}\n`).join(""));
    // Written last: a runtime waiting for this file finds every other one in place.
    await writePrivateFile(join(out, "proxy-url"), `${proxyUrl(companion.credential, companion.port)}\n`);
    const names = companion.providers.map((provider) => provider.name).join(", ") || "none";
    context.stderr.write(
      `surrogate agent: listening on ${listen.host}:${companion.port} for providers ${names}; proxy URL in ${join(out, "proxy-url")}\n`,
    );
    await new Promise<void>((done) => {
      process.once("SIGTERM", done);
      process.once("SIGINT", done);
    });
    await companion.close();
    return 0;
  },
};

import { configPath, loadConfig } from "../config/load.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { parseRole } from "../role.ts";
import { type RunningSurrogate, startSurrogate } from "../serve.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the broker and/or the proxy (web port and agent port)",
  usage: `Usage: surrogate serve [--config FILE] [--role broker|proxy|all]

Starts the web port (consent pages, callback, JWKS, health) and the agent port (mTLS broker API and
swapping proxy) as configured.

Options:
  --config FILE   configuration file (default: $SURROGATE_CONFIG, else ./surrogate.toml)
  --role ROLE     all (default): everything; broker: web port + agent API (/v1/), no proxy;
                  proxy: the swapping proxy on the agent port only (no web port, no rendezvous, no
                  identity providers contacted; keys.signing may be jwks:https://broker/.well-known/jwks.json)

Signals: SIGHUP reloads the key sets and the agent port's certificate, key and client CA bundle;
SIGTERM or SIGINT stops accepting connections, lets requests in flight finish, and exits 0.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      serveCommand,
      {
        args,
        options: { config: { type: "string" }, role: { type: "string" } },
        strict: true,
        allowPositionals: false,
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const role = parseRole(parsed.values.role ?? "all");
    const config = await loadConfig(parsed.values.config ?? configPath(context.env), context.env);
    const logger = createLogger((line) => context.stdout.write(`${line}\n`), instanceId());
    const running = await startSurrogate(config, { env: context.env, logger, role });
    return waitForSignals(running, logger);
  },
};

/** A short random id that tells instances apart in logs and metrics. */
export function instanceId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
}

/** Resolves with the exit code once SIGTERM/SIGINT has stopped the servers; SIGHUP reloads in place. */
export function waitForSignals(running: RunningSurrogate, logger: Logger): Promise<number> {
  const onHangup = () => {
    running.reload().catch((error: unknown) => {
      // A bad file on disk must not take a serving instance down: keep the old material.
      logger.error("surrogate.reload_failed", { reason: error instanceof Error ? error.message : "unknown" });
    });
  };
  process.on("SIGHUP", onHangup);
  return new Promise((resolve) => {
    const onStop = (signal: string) => {
      logger.info("surrogate.stopping", { signal });
      process.off("SIGHUP", onHangup);
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once("SIGTERM", () => onStop("SIGTERM"));
    process.once("SIGINT", () => onStop("SIGINT"));
  });
}

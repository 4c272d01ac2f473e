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
    const signals = captureSignals(logger);
    const running = await startSurrogate(config, { env: context.env, logger, role }).catch(
      (error: unknown) => {
        signals.release();
        throw error;
      },
    );
    return signals.attach(running);
  },
};

/** A short random id that tells instances apart in logs and metrics. */
export function instanceId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
}

/** Resolves with the exit code once SIGTERM/SIGINT has stopped the servers; SIGHUP reloads in place. */
export function waitForSignals(running: RunningSurrogate, logger: Logger): Promise<number> {
  return captureSignals(logger).attach(running);
}

export interface CapturedSignals {
  /** Acts on signals from now on (and on any that arrived before); resolves with the exit code. */
  attach(running: RunningSurrogate): Promise<number>;
  /** Removes the handlers (start-up failed). */
  release(): void;
}

/**
 * Installs the handlers at once, before anything listens: a supervisor or test may signal as soon
 * as it sees `surrogate.listening`, and a signal without a handler takes its default action, which
 * for SIGHUP is to kill the process. Signals that arrive before `attach` are acted on then.
 */
export function captureSignals(logger: Logger): CapturedSignals {
  let running: RunningSurrogate | undefined;
  let reloadPending = false;
  let stopSignal: string | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const reload = (target: RunningSurrogate) => {
    target.reload().catch((error: unknown) => {
      // A bad file on disk must not take a serving instance down: keep the old material.
      logger.error("surrogate.reload_failed", { reason: error instanceof Error ? error.message : "unknown" });
    });
  };
  const stop = (target: RunningSurrogate, signal: string) => {
    logger.info("surrogate.stopping", { signal });
    release();
    target.stop().then(
      () => finish(0),
      () => finish(1),
    );
  };
  const onHangup = () => {
    if (running === undefined) reloadPending = true;
    else reload(running);
  };
  const onStop = (signal: string) => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    if (running !== undefined) stop(running, signal);
  };
  const onTerm = () => onStop("SIGTERM");
  const onInt = () => onStop("SIGINT");
  const release = () => {
    process.off("SIGHUP", onHangup);
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
  };
  process.on("SIGHUP", onHangup);
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  return {
    attach(target) {
      running = target;
      if (stopSignal !== undefined) stop(target, stopSignal);
      else if (reloadPending) reload(target);
      return done;
    },
    release,
  };
}

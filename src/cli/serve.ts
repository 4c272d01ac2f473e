import { availableParallelism } from "node:os";
import { parseRole, type Role } from "../app/role.ts";
import { type RunningSurrogate, startSurrogate } from "../app/serve.ts";
import {
  checkWorkers,
  parseWorkers,
  selfCommand,
  startWorkers,
  supervising,
  type WorkerMarker,
  watchParent,
  workerConfig,
  workerMarker,
} from "../app/workers.ts";
import { configPath, loadConfig } from "../core/config/load.ts";
import type { Config } from "../core/config/types.ts";
import { createLineBatcher, type LineBatcher } from "../ops/log/batch.ts";
import { createLogger, type Logger } from "../ops/log/logger.ts";
import { parseCommandArgs } from "./args.ts";
import type { CliContext, Command } from "./command.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the broker and/or the proxy (web port and agent port)",
  usage: `Usage: surrogate serve [--config FILE] [--role broker|proxy|all] [--workers N|auto]

Starts the web port (consent pages, callback, JWKS, health) and the agent port (mTLS broker API and
swapping proxy) as configured.

Options:
  --config FILE   configuration file (default: $SURROGATE_CONFIG, else ./surrogate.toml)
  --role ROLE     all (default): everything; broker: web port + agent API (/v1/), no proxy;
                  proxy: the swapping proxy on the agent port only (no web port, no rendezvous, no
                  identity providers contacted; keys.signing may be jwks:https://broker/.well-known/jwks.json)
  --workers N     processes sharing the ports through SO_REUSEPORT (default 1; auto: one per core).
                  This process starts N-1 copies of itself, passes signals on, restarts a copy that
                  dies (with backoff). Roles with the broker need rendezvous.url = redis:// for N > 1.

Signals: SIGHUP reloads [[policy]] from the configuration file, the key sets and the agent port's
certificate, key and client CA bundle (other settings need a restart);
SIGTERM or SIGINT stops accepting connections, lets requests in flight finish, and exits 0 (with
--workers, once every worker has).
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      serveCommand,
      {
        args,
        options: { config: { type: "string" }, role: { type: "string" }, workers: { type: "string" } },
        strict: true,
        allowPositionals: false,
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const role = parseRole(parsed.values.role ?? "all");
    // A worker started by --workers runs one process's share; the first process supervises.
    const marker = workerMarker(context.env);
    const workers = marker ? 1 : parseWorkers(parsed.values.workers ?? "1", availableParallelism());
    const path = parsed.values.config ?? configPath(context.env);
    const loaded = await loadConfig(path, context.env);
    checkWorkers(loaded, role, workers);
    const config = marker ? workerConfig(loaded, marker) : loaded;
    const reloadConfig = async () => {
      const fresh = await loadConfig(path, context.env);
      return marker ? workerConfig(fresh, marker) : fresh;
    };
    const lines = createLineBatcher((bytes, done) => context.stdout.write(bytes, done));
    try {
      return await serve({ config, role, workers, marker, reloadConfig, context, lines });
    } finally {
      lines.flush();
    }
  },
};

interface ServeRun {
  config: Config;
  role: Role;
  workers: number;
  marker: WorkerMarker | undefined;
  reloadConfig: () => Promise<Config>;
  context: CliContext;
  lines: LineBatcher;
}

/** Starts the role's servers (and workers) and resolves with the exit code once they stopped. */
async function serve(run: ServeRun): Promise<number> {
  const { config, role, workers, marker, reloadConfig, context } = run;
  const logger = createLogger(run.lines, instanceId());
  const signals = captureSignals(logger);
  const reusePort = marker !== undefined || workers > 1;
  const running = await startSurrogate(config, {
    env: context.env,
    logger,
    role,
    reusePort,
    reloadConfig,
  }).catch((error: unknown) => {
    signals.release();
    throw error;
  });
  if (marker) {
    const release = watchParent(context.stdin ?? Bun.stdin.stream(), () =>
      process.kill(process.pid, "SIGTERM"),
    );
    return signals.attach(running).finally(release);
  }
  if (workers === 1) return signals.attach(running);
  const { agentPort, webPort } = running;
  const pool = startWorkers({
    count: workers,
    command: selfCommand(),
    env: context.env,
    agentPort,
    webPort,
    logger,
  });
  return signals.attach(supervising(running, pool));
}

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

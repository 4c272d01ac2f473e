/**
 * `surrogate serve --workers N`: DESIGN §10 scales by starting more processes. The first process
 * binds the ports with SO_REUSEPORT and then starts N−1 copies of itself (same command line, an
 * environment marker naming the ports it bound) that bind the same ports; the kernel spreads new
 * connections over them. The first process supervises: it passes signals on, restarts a copy that
 * died (with a bounded backoff) and exits once every copy has.
 */
import type { Subprocess } from "bun";
import type { Config, Env } from "../core/config/types.ts";
import { ConfigError, SurrogateError } from "../core/errors.ts";
import type { Logger } from "../ops/log/logger.ts";
import { type Role, servesBroker } from "./role.ts";
import type { RunningSurrogate } from "./serve.ts";

/** Set in a worker's environment: `<slot>:<agent port>:<web port or ->`. */
export const WORKER_ENV = "SURROGATE_WORKER";
const MAX_WORKERS = 64;
/** A worker that lived this long had a good run: its restart backoff starts over. */
const HEALTHY_MS = 60_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** Consecutive early deaths after which a slot is left empty instead of crash-looping. */
const MAX_RESTARTS = 8;
/** Past the workers' own drain bound (30 s), a worker that still has not exited is killed. */
const STOP_GRACE_MS = 40_000;

/** `auto` = the cores available to this process; otherwise an integer 1…64. */
export function parseWorkers(text: string, cores: number): number {
  if (text === "auto") return Math.max(1, Math.min(MAX_WORKERS, cores));
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_WORKERS) {
    throw new ConfigError("--workers", `must be "auto" or a whole number from 1 to ${MAX_WORKERS}`);
  }
  return count;
}

/**
 * Pending grants live in the rendezvous (DESIGN §10): with `memory:` a grant created on one worker
 * would be invisible to the worker that receives the poll or the callback, so the broker roles need
 * a shared store once there is more than one process. The proxy role keeps no state between requests.
 */
export function checkWorkers(config: Config, role: Role, workers: number): void {
  if (workers > 1 && servesBroker(role) && config.rendezvous.url === "memory:") {
    throw new ConfigError(
      "rendezvous.url",
      `"memory:" keeps pending grants inside one process, so --workers ${workers} with --role ${role} would lose them between workers; use redis:// (or rediss://), or --role proxy`,
    );
  }
}

export interface WorkerMarker {
  slot: number;
  agentPort: number;
  webPort: number | undefined;
}

export function workerMarker(env: Env): WorkerMarker | undefined {
  const text = env[WORKER_ENV];
  if (text === undefined) return undefined;
  const match = /^(\d{1,2}):(\d{1,5}):(\d{1,5}|-)$/.exec(text);
  if (match === null) throw new ConfigError(WORKER_ENV, "malformed worker marker");
  return {
    slot: Number(match[1]),
    agentPort: Number(match[2]),
    webPort: match[3] === "-" ? undefined : Number(match[3]),
  };
}

/**
 * The command line that starts this program again: from source `bun [flags] main.ts …`; a compiled
 * binary reports its entry as `/$bunfs/…`, which must not be passed back to it.
 */
export function selfCommand(): string[] {
  const [, entry = "", ...args] = process.argv;
  if (entry.startsWith("/$bunfs/")) return [process.execPath, ...args];
  return [process.execPath, ...process.execArgv, entry, ...args];
}

export interface WorkerPoolOptions {
  count: number;
  command: string[];
  env: Env;
  agentPort: number;
  webPort: number | undefined;
  logger: Logger;
}

export interface WorkerPool {
  reload(): void;
  /** SIGTERM to every worker; resolves true when all exited 0. */
  stop(): Promise<boolean>;
}

interface Slot {
  index: number;
  child: Subprocess<"pipe", "inherit", "inherit"> | undefined;
  startedAt: number;
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Starts workers 1…count−1 (the caller is worker 0) and keeps them running until stop(). */
export function startWorkers(options: WorkerPoolOptions): WorkerPool {
  let stopping = false;
  const slots: Slot[] = [];
  const spawn = (slot: Slot) => {
    const marker = `${slot.index}:${options.agentPort}:${options.webPort ?? "-"}`;
    const child = Bun.spawn(options.command, {
      env: { ...options.env, [WORKER_ENV]: marker },
      // stdin stays an open pipe the worker watches: when this process dies, the worker stops too.
      stdin: "pipe",
      stdout: "inherit",
      stderr: "inherit",
    });
    slot.child = child;
    slot.startedAt = Date.now();
    options.logger.info("surrogate.worker_started", { worker: slot.index, pid: child.pid });
    void child.exited.then((code) => {
      if (stopping) return;
      child.stdin.end();
      slot.child = undefined;
      restart(slot, child.pid, code);
    });
  };
  const restart = (slot: Slot, pid: number, code: number) => {
    slot.failures = Date.now() - slot.startedAt >= HEALTHY_MS ? 1 : slot.failures + 1;
    if (slot.failures > MAX_RESTARTS) {
      options.logger.error("surrogate.worker_abandoned", { worker: slot.index, pid, code });
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (slot.failures - 1));
    options.logger.error("surrogate.worker_exited", { worker: slot.index, pid, code, restart_ms: delay });
    slot.timer = setTimeout(() => spawn(slot), delay);
  };
  for (let index = 1; index < options.count; index++) {
    const slot: Slot = { index, child: undefined, startedAt: 0, failures: 0, timer: undefined };
    slots.push(slot);
    spawn(slot);
  }
  return {
    reload: () => {
      for (const slot of slots) slot.child?.kill("SIGHUP");
    },
    async stop() {
      stopping = true;
      const codes = await Promise.all(slots.map(stopSlot));
      return codes.every((code) => code === 0);
    },
  };
}

async function stopSlot(slot: Slot): Promise<number> {
  clearTimeout(slot.timer);
  const child = slot.child;
  if (child === undefined) return 0;
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  const code = await child.exited;
  clearTimeout(kill);
  child.stdin.end();
  return code;
}

/** A worker listens where the first process bound (which may have been port 0). */
export function workerConfig(config: Config, marker: WorkerMarker): Config {
  const web =
    marker.webPort === undefined
      ? config.web
      : { ...config.web, listen: { ...config.web.listen, port: marker.webPort } };
  return {
    ...config,
    web,
    agent: { ...config.agent, listen: { ...config.agent.listen, port: marker.agentPort } },
  };
}

/** The first process's own servers plus its workers, reloaded and stopped together. */
export function supervising(running: RunningSurrogate, pool: WorkerPool): RunningSurrogate {
  return {
    ...running,
    async reload() {
      pool.reload();
      await running.reload();
    },
    async stop() {
      const [clean] = await Promise.all([pool.stop(), running.stop()]);
      if (!clean)
        throw new SurrogateError("server_error", "serve: a worker exited with a failure while stopping");
    },
  };
}

/**
 * A worker's stdin is a pipe from the first process that is never written: end of file means that
 * process is gone (even SIGKILLed), and a worker must not keep serving on a port nobody supervises.
 * Returns the release to call once the worker has stopped (a pending read keeps the process alive).
 */
export function watchParent(stdin: ReadableStream<Uint8Array>, stop: () => void): () => void {
  const reader = stdin.getReader();
  let released = false;
  const drain = async () => {
    while (!(await reader.read()).done) {
      // Nothing is ever written; a stray byte is ignored.
    }
    if (!released) stop();
  };
  drain().catch(() => {});
  return () => {
    released = true;
    reader.cancel().catch(() => {});
  };
}

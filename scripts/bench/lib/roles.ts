import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The processes a bench run starts (each its own event loop, so none shares a thread with the load
 * generator): the upstream and the load drivers (the surrogate targets: ./serve.ts). Each prints its port on stdout when ready.
 */

export const ISSUER = "https://broker.bench";
export const PROVIDER = "bench";
/** The upstream's answer: 1 KiB, as in the issue's calibration. */
export const BODY_BYTES = 1024;

const read = (dir: string, name: string) => readFileSync(join(dir, name), "utf8");

/** A small fast HTTPS server: Bun.serve answering a fixed 1 KiB body to everything. */
export function runUpstream(dir: string): void {
  const body = "x".repeat(BODY_BYTES);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: read(dir, "server.pem"), key: read(dir, "server.key") },
    fetch: () => new Response(body, { headers: { "content-type": "text/plain" } }),
  });
  console.log(server.port);
}

export interface Child {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts `bun <script> --role …` and waits for the port it prints. */
export async function spawnRole(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  bunFlags: string[] = [],
): Promise<Child> {
  const child = Bun.spawn(["bun", ...bunFlags, script, "--role", ...args], {
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, ...env },
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`bench: role ${args[0]} exited before reporting its port`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    pid: child.pid,
    port: Number(text.trim()),
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

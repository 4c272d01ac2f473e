import { readFileSync } from "node:fs";
import { join } from "node:path";
import { routeAgentRequests } from "../../../src/agent/router.ts";
import { startAgentServer } from "../../../src/agent/server.ts";
import { keySetsFromJwks } from "../../../src/keys/load.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { parseUpstream } from "../../../src/proxy/allowlist.ts";
import { createProxyHandler } from "../../../src/proxy/handler.ts";
import { parseInjection } from "../../../src/proxy/inject.ts";
import { problem } from "../../../src/proxy/problem.ts";

/**
 * The processes a bench run starts (each its own event loop, so none shares a thread with the load
 * generator): the upstream and the surrogate agent port. Each prints its port on stdout when ready.
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

/**
 * The agent port as `surrogate serve` assembles it for a proxy: mTLS with the in-code chain check,
 * the /v1/ router, the proxy handler (verify, binding, allowlist, open, inject, forward). The upstream
 * CA is trusted through SSL_CERT_FILE (set by the parent), the cheap way (docs/benchmarks.md).
 * Access lines are formatted as in production, then dropped instead of written to stdout.
 */
export async function runSurrogate(dir: string, upstreamPort: number): Promise<void> {
  const jwks = JSON.parse(read(dir, "keys.json"));
  const keys = await keySetsFromJwks(jwks.signing, jwks.encryption);
  const provider = {
    name: PROVIDER,
    kind: "oidc" as const,
    upstreams: [parseUpstream(`127.0.0.1:${upstreamPort}`, "upstreams")],
    inject: parseInjection("Authorization: Bearer {token}", "inject"),
    scopes: [],
    jwtAccessTokens: false,
    oidc: true,
  };
  const logger = createLogger(() => {}, "bench");
  const proxy = createProxyHandler({
    providers: new Map([[PROVIDER, provider]]),
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now: Date.now,
    logger,
    upstreamTimeout: 30,
  });
  const broker = async () => problem(404, "invalid_request", "bench: no broker here");
  const server = await startAgentServer({
    host: "127.0.0.1",
    port: 0,
    certPem: read(dir, "server.pem"),
    keyPem: read(dir, "server.key"),
    clientCaPem: read(dir, "ca.pem"),
    handler: routeAgentRequests({ broker, proxy }),
    limits: { headersTimeout: 10, idleTimeout: 60, requestTimeout: 300, maxHeaderSize: 16384 },
    logger,
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

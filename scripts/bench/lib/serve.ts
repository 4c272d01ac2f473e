import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PROVIDER } from "./roles.ts";

/**
 * The surrogate targets as an operator runs them: `surrogate serve --role proxy [--workers N]` from
 * source, with a surrogate.toml over the bench's certificates and keys. Access lines go to a file
 * (what journald or a log shipper would take), so each worker pays for writing them as in production.
 * The upstream CA is trusted through SSL_CERT_FILE (docs/benchmarks.md, "Proxy"), not upstream_ca.
 */

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const START_TIMEOUT_MS = 20_000;

export interface ServeTarget {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export function serveConfig(dir: string, upstreamPort: number): string {
  const q = (name: string) => JSON.stringify(join(dir, name));
  return `issuer = "https://broker.bench"
[agent]
listen = "127.0.0.1:0"
tls_cert = ${q("server.pem")}
tls_key = ${q("server.key")}
client_ca = ${q("ca.pem")}
# Every load-generator connection comes from 127.0.0.1, as behind a balancer that hides client
# addresses: the new-connection scenario opens up to --clients handshakes at once from it.
max_handshakes_per_address = 1000
[keys]
signing = ${JSON.stringify(`file:${join(dir, "signing.jwks")}`)}
encryption = ${JSON.stringify(`file:${join(dir, "encryption.jwks")}`)}
[providers.${PROVIDER}]
kind = "static"
upstreams = ["127.0.0.1:${upstreamPort}"]
[[policy]]
workload = "spiffe://bench.example/**"
providers = ["${PROVIDER}"]
`;
}

/**
 * Starts `surrogate serve --role proxy --workers N` and waits until all N processes listen. `entry`
 * replaces `bun [bunFlags] src/main.ts` (the soak test runs the same CLI under a heap sampler).
 */
export async function startServe(
  dir: string,
  upstreamPort: number,
  workers: number,
  bunFlags: string[],
  entry: string[] = ["bun", ...bunFlags, MAIN],
): Promise<ServeTarget> {
  const keys = JSON.parse(readFileSync(join(dir, "keys.json"), "utf8"));
  writeFileSync(join(dir, "signing.jwks"), JSON.stringify(keys.signing));
  writeFileSync(join(dir, "encryption.jwks"), JSON.stringify(keys.encryption));
  const configFile = join(dir, `surrogate-${workers}.toml`);
  writeFileSync(configFile, serveConfig(dir, upstreamPort));
  // Not next to the certificates: the proxy watches their directory (trust bundles are re-read when
  // they change), and a log file there would wake that watcher on every line written.
  mkdirSync(join(dir, "logs"), { recursive: true });
  const logFile = join(dir, "logs", `surrogate-${workers}.log`);
  writeFileSync(logFile, "");
  const command = [...entry, "serve", "--config", configFile, "--role", "proxy"];
  const child = Bun.spawn([...command, "--workers", String(workers)], {
    stdout: Bun.file(logFile),
    stderr: "inherit",
    env: { ...process.env, SSL_CERT_FILE: join(dir, "ca.pem") },
  });
  const port = await listening(logFile, workers, child);
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

async function listening(logFile: string, workers: number, child: Bun.Subprocess): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bench: surrogate serve exited with ${child.exitCode}`);
    const lines = (await Bun.file(logFile).text())
      .split("\n")
      .filter((l) => l.includes("surrogate.listening"));
    if (lines.length >= workers) return (JSON.parse(lines[0] as string) as { agent: number }).agent;
    await Bun.sleep(50);
  }
  throw new Error("bench: surrogate serve did not start listening");
}

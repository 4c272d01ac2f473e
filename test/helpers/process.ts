/**
 * Real `bun src/main.ts serve` processes for multi-instance, rotation and signal tests: a
 * deployment's files written to a temporary directory (keys, certificates, surrogate.toml), the
 * process spawned from the repository root, its JSON log lines collected, its ports read from the
 * `surrogate.listening` line. Plus the mTLS agent client those tests talk to it with.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { writeKeySetsToDir } from "../../src/core/keys/files.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import type { TestPki } from "./pki.ts";

const ROOT = resolve(import.meta.dir, "../..");
/** Start-up loads keys, reads PEM, discovers the IdP: seconds at most, even on a loaded 2-core box. */
const START_TIMEOUT_MS = 20_000;
/** How often the child's log files are read for new lines. */
const POLL_MS = 20;

export interface SurrogateProcess {
  name: string;
  /** Undefined for `--role proxy`. */
  webPort: number | undefined;
  agentPort: number;
  /** Every JSON log line so far (stdout and stderr). */
  lines: string[];
  exited: Promise<number>;
  signal(signal: "SIGHUP" | "SIGTERM" | "SIGKILL"): void;
  /** Resolves with the first line (already seen or yet to come) containing `text`. */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
  /** SIGKILL if still running, then waits for the exit. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  configPath: string;
  role?: "broker" | "proxy" | "all";
  env?: Record<string, string>;
  /** More `serve` arguments (e.g. `--workers 2`). */
  args?: string[];
}

export async function spawnSurrogate(options: SpawnOptions): Promise<SurrogateProcess> {
  const args = ["bun", "src/main.ts", "serve", "--config", options.configPath];
  if (options.role !== undefined) args.push("--role", options.role);
  args.push(...(options.args ?? []));
  // Output goes to files read by polling, not to pipes: on a loaded machine Bun's subprocess pipe
  // streams were seen to stop delivering lines the child had written (a SIGHUP test waited 10 s for
  // a line logged within milliseconds).
  const logDir = await mkdtemp(join(tmpdir(), "surrogate-log-"));
  const outputs = [join(logDir, "stdout"), join(logDir, "stderr")];
  const child = Bun.spawn(args, {
    cwd: ROOT,
    env: { PATH: Bun.env.PATH ?? "/usr/bin:/bin", HOME: Bun.env.HOME ?? "/tmp", ...options.env },
    stdout: Bun.file(outputs[0] as string),
    stderr: Bun.file(outputs[1] as string),
  });
  const lines: string[] = [];
  const waiters: Array<{ text: string; resolve: (line: string) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const waiter of waiters.filter((w) => line.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  };
  const tails = outputs.map((path) => tailLines(path, onLine));
  const poller = setInterval(() => {
    for (const tail of tails) tail.poll();
  }, POLL_MS);
  void child.exited.then(async () => {
    clearInterval(poller);
    for (const tail of tails) tail.poll();
    await rm(logDir, { recursive: true, force: true });
  });
  const handle = processHandle(options.name, child, lines, waiters);
  const listening = await Promise.race([
    handle.waitForLine("surrogate.listening", START_TIMEOUT_MS),
    child.exited.then((code) => {
      throw new Error(`${options.name} exited with ${code} at start-up:\n${lines.join("\n")}`);
    }),
  ]);
  const ports = JSON.parse(listening) as { web?: number; agent: number };
  return { ...handle, webPort: ports.web, agentPort: ports.agent };
}

function processHandle(
  name: string,
  child: Subprocess,
  lines: string[],
  waiters: Array<{ text: string; resolve: (line: string) => void }>,
): Omit<SurrogateProcess, "webPort" | "agentPort"> {
  return {
    name,
    lines,
    exited: child.exited,
    signal: (signal) => child.kill(signal),
    waitForLine(text, timeoutMs = 10_000) {
      const seen = lines.find((line) => line.includes(text));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no log line with "${text}":\n${lines.join("\n")}`)),
          timeoutMs,
        );
        const done = (line: string) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push({ text, resolve: done });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await child.exited;
    },
  };
}

/** Reads what was appended to `path` since the last poll and hands on each complete line. */
function tailLines(path: string, onLine: (line: string) => void): { poll(): void } {
  const decoder = new TextDecoder();
  const chunk = Buffer.alloc(64 * 1024);
  let offset = 0;
  let pending = "";
  return {
    poll() {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch {
        return;
      }
      try {
        for (let read = readSync(fd, chunk, 0, chunk.length, offset); read > 0; ) {
          offset += read;
          pending += decoder.decode(chunk.subarray(0, read), { stream: true });
          read = readSync(fd, chunk, 0, chunk.length, offset);
        }
      } finally {
        closeSync(fd);
      }
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) if (line.trim() !== "") onLine(line);
    },
  };
}

/** A temporary directory for one test file's deployment; `remove()` deletes it. */
export async function deploymentDir(): Promise<{
  dir: string;
  path: (name: string) => string;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "surrogate-it-"));
  return { dir, path: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes the test PKI's server certificate, key and CA where a config can point at them. */
export async function writePki(pki: TestPki, path: (name: string) => string) {
  const files = { cert: path("server.pem"), key: path("server.key"), ca: path("ca.pem") };
  await Bun.write(files.cert, pki.server.certPem);
  await Bun.write(files.key, pki.server.keyPem);
  await Bun.write(files.ca, pki.ca.certPem);
  return files;
}

/** The test PKI and fresh key sets written into `dir`, as instanceConfig takes them. */
export async function writeDeployment(
  pki: TestPki,
  dir: { dir: string; path: (name: string) => string },
): Promise<Pick<InstanceConfig, "pki" | "signing" | "encryption">> {
  const files = await writePki(pki, dir.path);
  const keys = await writeKeySetsToDir(dir.dir);
  return { pki: files, signing: `file:${keys.signingPath}`, encryption: `file:${keys.encryptionPath}` };
}

/**
 * A temporary directory for an in-process instance (startSurrogate with `baseDir` = it): the test
 * PKI as server.pem, server.key and ca.pem, and ES256 key sets under keys/, for a surrogate.toml
 * that names them relative to it. The caller removes it.
 */
export async function writeConfigDir(pki: TestPki, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `surrogate-${name}-`));
  await writePki(pki, (file) => join(dir, file));
  await writeKeySetsToDir(join(dir, "keys"), "ES256");
  return dir;
}

export interface InstanceConfig {
  issuer: string;
  pki: { cert: string; key: string; ca: string };
  signing: string;
  encryption: string;
  rendezvous?: string;
  /** The stub IdP (`[providers.stub]`); its client secret comes from env STUB_SECRET. */
  idp?: { issuer: string; clientId: string };
  upstreams: string[];
  extra?: string;
}

const q = (value: string) => JSON.stringify(value);

/** surrogate.toml text for one instance: loopback, ephemeral ports, provider `stub`. */
export function instanceConfig(c: InstanceConfig): string {
  const provider = c.idp
    ? `kind = "oidc"\nissuer = ${q(c.idp.issuer)}\nclient_id = ${q(c.idp.clientId)}\nclient_secret = "env:STUB_SECRET"\nscopes = ["openid", "email"]`
    : `kind = "static"`;
  return `issuer = ${q(c.issuer)}
token_ttl = "1h"
[web]
listen = "127.0.0.1:0"
[agent]
listen = "127.0.0.1:0"
tls_cert = ${q(c.pki.cert)}
tls_key = ${q(c.pki.key)}
client_ca = ${q(c.pki.ca)}
upstream_ca = ${q(c.pki.ca)}
[keys]
signing = ${q(c.signing)}
encryption = ${q(c.encryption)}
[rendezvous]
url = ${q(c.rendezvous ?? "memory:")}
interval = "1s"
[providers.stub]
${provider}
upstreams = [${c.upstreams.map(q).join(", ")}]
[[policy]]
workload = "spiffe://test.example/**"
providers = ["stub"]
${c.extra ?? ""}`;
}

/** fetch over mTLS to an instance's agent port as `cert`. */
export function agentFetch(
  port: number,
  path: string,
  cert: IssuedCertificate,
  caPem: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`https://localhost:${port}${path}`, {
    ...init,
    tls: { cert: cert.certPem, key: cert.keyPem, ca: caPem },
  } as RequestInit);
}

/** A form POST to the agent API (`/v1/grants`, `/v1/token`). */
export function agentForm(
  port: number,
  path: string,
  form: Record<string, string>,
  cert: IssuedCertificate,
  caPem: string,
): Promise<Response> {
  return agentFetch(port, path, cert, caPem, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
}

/**
 * The load balancer in front of the web ports: every instance shares one public URL (the issuer,
 * the IdP's redirect_uri), and the test chooses which instance answers the next request.
 */
export function startBalancer() {
  let target: number | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (target === undefined) return new Response("no backend", { status: 502 });
      const url = new URL(request.url);
      const body =
        request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      return fetch(`http://127.0.0.1:${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
        redirect: "manual",
        decompress: false,
      } as RequestInit);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    route(port: number | undefined) {
      target = port;
    },
    stop: () => server.stop(true),
  };
}

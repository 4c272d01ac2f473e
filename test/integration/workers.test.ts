/**
 * `surrogate serve --workers N`: real processes sharing the agent port through SO_REUSEPORT, the
 * first one supervising (signals passed on, a dead worker restarted, all gone on SIGTERM), and the
 * refusal of a per-process rendezvous for roles that hold pending grants.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestPki, testPki } from "../helpers/pki.ts";
import {
  agentFetch,
  deploymentDir,
  instanceConfig,
  type SurrogateProcess,
  spawnSurrogate,
  writeDeployment,
} from "../helpers/process.ts";

let pki: TestPki;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let configPath: string;
const started: SurrogateProcess[] = [];

beforeAll(async () => {
  [pki, dir] = await Promise.all([testPki(), deploymentDir()]);
  configPath = dir.path("surrogate.toml");
  await Bun.write(
    configPath,
    instanceConfig({
      ...(await writeDeployment(pki, dir)),
      issuer: "https://broker.workers.test",
      upstreams: ["127.0.0.1:9"],
    }),
  );
});
afterAll(async () => {
  for (const process of started) await process.stop();
  await dir.remove();
});

const startWorkers = async (count: number) => {
  const proxy = await spawnSurrogate({
    name: "workers",
    configPath,
    role: "proxy",
    args: ["--workers", `${count}`],
  });
  started.push(proxy);
  return proxy;
};

const parsed = (lines: string[], event: string) =>
  lines
    .filter((line) => line.includes(`"${event}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** Worker pids from `surrogate.worker_started`, once `count` of them are listening. */
async function workerPids(proxy: SurrogateProcess, count: number): Promise<number[]> {
  while (parsed(proxy.lines, "surrogate.listening").length < count) await Bun.sleep(50);
  return parsed(proxy.lines, "surrogate.worker_started").map((fields) => fields.pid as number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function untilGone(pid: number): Promise<void> {
  while (alive(pid)) await Bun.sleep(50);
}

describe("serve --workers", () => {
  test("two proxy workers share one agent port: both serve connections; SIGTERM stops both, exit 0", async () => {
    const proxy = await startWorkers(2);
    const [worker] = await workerPids(proxy, 2);
    expect(worker).toBeNumber();
    // New connections each time: SO_REUSEPORT spreads connections, not requests.
    for (let i = 0; i < 40; i++) {
      const response = await agentFetch(proxy.agentPort, "/127.0.0.1:9/x", pki.alpha, pki.ca.certPem, {
        keepalive: false,
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe("missing_token");
    }
    while (parsed(proxy.lines, "proxy.request").length < 40) await Bun.sleep(50);
    const instances = new Set(parsed(proxy.lines, "proxy.request").map((fields) => fields.instance));
    expect(instances.size).toBe(2);
    proxy.signal("SIGTERM");
    expect(await proxy.exited).toBe(0);
    expect(alive(worker as number)).toBe(false);
  });

  test("a worker that dies is started again; killing the first process takes its workers down", async () => {
    const proxy = await startWorkers(2);
    const [first] = await workerPids(proxy, 2);
    process.kill(first as number, "SIGKILL");
    const exited = JSON.parse(await proxy.waitForLine("surrogate.worker_exited")) as Record<string, unknown>;
    expect(exited.pid).toBe(first);
    expect(exited.worker).toBe(1);
    await workerPids(proxy, 3);
    const replacement = parsed(proxy.lines, "surrogate.worker_started")[1]?.pid as number;
    expect(replacement).not.toBe(first);
    expect(alive(replacement)).toBe(true);
    // SIGKILL cannot be passed on: the worker notices its supervisor is gone and stops by itself.
    proxy.signal("SIGKILL");
    await proxy.exited;
    await untilGone(replacement);
    expect(alive(replacement)).toBe(false);
  });

  test.each(["all", "broker"] as const)(
    "--role %s with a memory: rendezvous and 2 workers is refused",
    async (role) => {
      const child = Bun.spawn(
        ["bun", "src/main.ts", "serve", "--config", configPath, "--role", role, "--workers", "2"],
        {
          cwd: `${import.meta.dir}/../..`,
          stdout: "pipe",
          stderr: "pipe",
          env: { PATH: Bun.env.PATH ?? "/usr/bin" },
        },
      );
      expect(await child.exited).toBe(1);
      const stderr = await new Response(child.stderr).text();
      expect(stderr).toContain("rendezvous.url");
      expect(stderr).toContain("redis://");
      expect(stderr).toContain("--role proxy");
    },
  );

  test("--workers must be auto or 1…64", async () => {
    const child = Bun.spawn(["bun", "src/main.ts", "serve", "--config", configPath, "--workers", "0"], {
      cwd: `${import.meta.dir}/../..`,
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: Bun.env.PATH ?? "/usr/bin" },
    });
    expect(await child.exited).toBe(1);
    expect(await new Response(child.stderr).text()).toContain("--workers");
  });
});

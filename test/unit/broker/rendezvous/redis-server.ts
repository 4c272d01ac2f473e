/**
 * A throwaway redis-server for tests: free port, no persistence, stoppable and restartable on the
 * same port (to prove the store recovers by itself). Fails loudly when the binary is missing.
 */
import { RedisClient, type Subprocess } from "bun";
import { freePort } from "../../../helpers/ports.ts";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts bytes but never answers. */
  freeze(): void;
  thaw(): void;
}

const READY_ATTEMPTS = 100;

export async function startTestRedis(): Promise<TestRedis> {
  const binary = Bun.which("redis-server");
  if (binary === null) {
    throw new Error(
      "redis-server is not on PATH: install it (apt-get install -y redis-server) or set SURROGATE_TEST_REDIS=redis://host:port",
    );
  }
  const port = freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: Subprocess | undefined;
  const handle: TestRedis = {
    url,
    async start() {
      server = Bun.spawn(
        [binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        {
          stdout: "ignore",
          stderr: "inherit",
        },
      );
      await waitUntilAnswering(url);
    },
    async stop() {
      server?.kill("SIGCONT");
      server?.kill();
      await server?.exited;
      server = undefined;
    },
    freeze: () => server?.kill("SIGSTOP"),
    thaw: () => server?.kill("SIGCONT"),
  };
  await handle.start();
  return handle;
}

async function waitUntilAnswering(url: string): Promise<void> {
  for (let attempt = 0; attempt < READY_ATTEMPTS; attempt += 1) {
    const client = new RedisClient(url, { connectionTimeout: 500, autoReconnect: false });
    try {
      if ((await client.send("PING", [])) === "PONG") return;
    } catch {
      await Bun.sleep(50);
    } finally {
      client.close();
    }
  }
  throw new Error(`redis-server did not answer on ${url}`);
}

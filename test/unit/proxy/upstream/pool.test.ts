/**
 * The relay's idle pool (./pool.ts) with real connections to a raw upstream: most recently used
 * first, origins kept apart, a bounded number per origin, closed after the idle time, dropped when
 * the upstream closes them. Which exchanges end reusable is the relay's rule:
 * test/integration/relay-upstream.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Connection } from "../../../../src/proxy/upstream/connection.ts";
import { ConnectionPool } from "../../../../src/proxy/upstream/pool.ts";
import { parseTarget } from "../../../../src/proxy/upstream/target.ts";
import { ok, type RawServer, startRawServer, until } from "./harness.ts";

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function serve(): RawServer {
  const server = startRawServer(ok);
  cleanups.push(() => server.stop());
  return server;
}

function pool(maxPerOrigin = 8, idleMs = 15_000): ConnectionPool {
  const created = new ConnectionPool(maxPerOrigin, idleMs);
  cleanups.push(() => created.close());
  return created;
}

async function open(url: string): Promise<Connection> {
  const { connection, opened } = Connection.open(parseTarget(url), undefined);
  await opened;
  return connection;
}

describe("the idle pool", () => {
  test("the most recently released connection is handed out first; origins are kept apart", async () => {
    const server = serve();
    const idle = pool();
    const [a, b] = [
      await open(`http://127.0.0.1:${server.port}/`),
      await open(`http://127.0.0.1:${server.port}/`),
    ];
    idle.release(a);
    idle.release(b);
    expect(idle.acquire(`http://localhost:${server.port}`)).toBeUndefined();
    expect(idle.acquire(a.origin)).toBe(b);
    expect(idle.acquire(a.origin)).toBe(a);
    expect(idle.acquire(a.origin)).toBeUndefined();
    a.destroy();
    b.destroy();
  });

  test("idle connections are closed after the idle time", async () => {
    const server = serve();
    const idle = pool(8, 20);
    const connection = await open(`http://127.0.0.1:${server.port}/`);
    idle.release(connection);
    await until(() => server.open() === 0);
    expect(connection.closed).toBe(true);
    expect(idle.acquire(connection.origin)).toBeUndefined();
  });

  test("a connection the upstream closes while idle is dropped from the pool", async () => {
    let sockets = 0;
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => {
          sockets += 1;
          setTimeout(() => socket.end(), 20);
        },
        data() {},
      },
    });
    cleanups.push(() => listener.stop(true));
    const idle = pool();
    const connection = await open(`http://127.0.0.1:${listener.port}/`);
    idle.release(connection);
    await until(() => connection.closed);
    expect(idle.acquire(connection.origin)).toBeUndefined();
    expect(sockets).toBe(1);
  });

  test("bytes on an idle connection: it is closed and dropped (RFC 9112 §9.3: they answer no request)", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => void setTimeout(() => socket.write("HTTP/1.1 200 OK\r\n\r\n"), 20),
        data() {},
      },
    });
    cleanups.push(() => listener.stop(true));
    const idle = pool();
    const connection = await open(`http://127.0.0.1:${listener.port}/`);
    idle.release(connection);
    await until(() => connection.closed);
    expect(idle.acquire(connection.origin)).toBeUndefined();
  });

  test("at most maxPerOrigin idle connections are kept; the rest are closed", async () => {
    const server = serve();
    const idle = pool(2);
    const connections = await Promise.all([1, 2, 3, 4].map(() => open(`http://127.0.0.1:${server.port}/`)));
    for (const connection of connections) idle.release(connection);
    await until(() => server.open() === 2);
    expect(connections.map((c) => c.closed)).toEqual([false, false, true, true]);
  });

  test("close() closes idle connections; later releases close theirs", async () => {
    const server = serve();
    const idle = pool();
    const first = await open(`http://127.0.0.1:${server.port}/`);
    const second = await open(`http://127.0.0.1:${server.port}/`);
    idle.release(first);
    idle.close();
    idle.release(second);
    await until(() => server.open() === 0);
    expect(idle.acquire(first.origin)).toBeUndefined();
  });
});

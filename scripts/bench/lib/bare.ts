import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "bun";

/**
 * The floor under any proxy written on this stack (`bun run bench --floor`): a pass-through with
 * none of surrogate's work — no in-code chain check, no wrapper, no header rules, no scrubbing, no
 * log line, no metrics, no streaming (the 1 KiB answer is buffered). It terminates mTLS on
 * Bun.listen, takes the request target from the request line and sends a GET with a static
 * Authorization upstream, through Bun's `fetch` ("bare-fetch") or through a minimal pooled HTTP/1.1
 * client on Bun.connect that trusts its upstream to frame by Content-Length ("bare-raw"). Neither
 * is safe to deploy; they only show what the platform itself costs per request.
 */

type Forward = (target: string) => Promise<Uint8Array>;

export function runBare(dir: string, upstreamPort: number, kind: "fetch" | "raw", authorization: string) {
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  const forward =
    kind === "fetch"
      ? viaFetch(upstreamPort, authorization)
      : viaRaw(upstreamPort, read("ca.pem"), authorization);
  const server = Bun.listen<{ buffered: string }>({
    hostname: "127.0.0.1",
    port: 0,
    tls: {
      cert: read("server.pem"),
      key: read("server.key"),
      ca: read("ca.pem"),
      requestCert: true,
      rejectUnauthorized: true,
    },
    socket: {
      open(socket) {
        socket.data = { buffered: "" };
      },
      async data(socket, chunk) {
        socket.data.buffered += chunk.toString("latin1");
        const end = socket.data.buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const line = socket.data.buffered.slice(0, socket.data.buffered.indexOf("\r\n"));
        socket.data.buffered = socket.data.buffered.slice(end + 4);
        const body = await forward(line.split(" ")[1] ?? "/");
        const head = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.byteLength}\r\n\r\n`;
        socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
      },
    },
  });
  console.log(server.port);
}

function viaFetch(upstreamPort: number, authorization: string): Forward {
  return async (target) => {
    const response = await fetch(`https://localhost:${upstreamPort}${target}`, {
      headers: { authorization },
    });
    return new Uint8Array(await response.arrayBuffer());
  };
}

interface Pooled {
  socket: Socket<Pooled> | undefined;
  buffered: Buffer | undefined;
  answer: ((body: Uint8Array) => void) | undefined;
}

function viaRaw(upstreamPort: number, ca: string, authorization: string): Forward {
  const idle: Pooled[] = [];
  const received = (conn: Pooled, chunk: Buffer) => {
    const bytes = conn.buffered === undefined ? chunk : Buffer.concat([conn.buffered, chunk]);
    const end = bytes.indexOf("\r\n\r\n");
    const length = Number(/content-length: *(\d+)/i.exec(bytes.toString("latin1", 0, Math.max(end, 0)))?.[1]);
    if (end < 0 || bytes.length < end + 4 + length) {
      conn.buffered = bytes;
      return;
    }
    conn.buffered = undefined;
    const answer = conn.answer;
    conn.answer = undefined;
    idle.push(conn);
    answer?.(bytes.subarray(end + 4, end + 4 + length));
  };
  const connect = () =>
    new Promise<Pooled>((resolve, reject) => {
      const conn: Pooled = { socket: undefined, buffered: undefined, answer: undefined };
      Bun.connect<Pooled>({
        hostname: "127.0.0.1",
        port: upstreamPort,
        data: conn,
        tls: { ca, serverName: "localhost" },
        socket: {
          open(socket) {
            // Bun calls `open` even when verification failed: the one check this floor keeps.
            if (!socket.authorized) return reject(new Error("bench: upstream certificate not verified"));
            conn.socket = socket;
            resolve(conn);
          },
          data: (_socket, chunk) => received(conn, chunk),
          close() {
            const at = idle.indexOf(conn);
            if (at >= 0) idle.splice(at, 1);
          },
          error: (_socket, error) => reject(error),
        },
      }).catch(reject);
    });
  return async (target) => {
    const conn = idle.pop() ?? (await connect());
    return new Promise<Uint8Array>((resolve) => {
      conn.answer = resolve;
      conn.socket?.write(
        `GET ${target} HTTP/1.1\r\nhost: localhost:${upstreamPort}\r\nauthorization: ${authorization}\r\n\r\n`,
      );
    });
  };
}

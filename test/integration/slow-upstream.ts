/**
 * Back-pressure rigs for the relay, both directions. Upload: a TLS upstream that reads a chunked
 * upload slowly (it stops reading for a while every few MB) and checks every byte, and the agent
 * that sends it through the relay honouring its socket's back-pressure. Download: a TLS upstream
 * that writes a large answer only as its socket drains, and an agent that does not read until the
 * upstream's writes have stopped. While the upstream is not reading, a relay without back-pressure would take the
 * agent's bytes into memory; live memory (JS heap plus ArrayBuffers, after a full collection) is
 * sampled at the end of each stop, when such buffering would peak.
 */
import type { TCPSocketListener } from "bun";
import { ChunkedDecoder } from "../../src/agent-port/http1/chunked.ts";
import { testPki } from "../helpers/pki.ts";
import { parseAll, type RelayRig } from "./relay-rig.ts";

const CHUNK = 64 * 1024;
const STOP_EVERY = 4 * 1024 * 1024;
const STOP_MS = 150;

export interface UploadResult {
  status: number | undefined;
  received: number;
  corrupt: boolean;
  memoryGrowth: number;
}

export interface SlowUpstream {
  port: number;
  /** Sends `size` bytes chunked through the relay to this upstream. */
  upload(rig: RelayRig, size: number): Promise<UploadResult>;
  stop(): void;
}

interface Upload {
  head: Buffer | undefined;
  decoder: ChunkedDecoder;
  received: number;
  corrupt: boolean;
  nextStop: number;
}

function live(): number {
  Bun.gc(true);
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Byte `offset` of the upload: a pattern that shows a dropped, repeated or reordered piece. */
const patternAt = (offset: number) => offset % 251;

export async function startSlowUpstream(): Promise<SlowUpstream> {
  const pki = await testPki();
  let state: Upload | undefined;
  let peak = 0;
  const listener: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.server.certPem, key: pki.server.keyPem },
    socket: {
      data(socket, bytes) {
        const upload = state;
        if (upload === undefined) return;
        const body = readHead(upload, bytes);
        if (body === undefined) return;
        upload.decoder.push(body, (data) => check(upload, data));
        if (upload.decoder.done) {
          socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
          return;
        }
        if (upload.received >= upload.nextStop) {
          upload.nextStop += STOP_EVERY;
          socket.pause();
          setTimeout(() => {
            peak = Math.max(peak, live());
            socket.resume();
          }, STOP_MS);
        }
      },
      error() {},
    },
  });
  return {
    port: listener.port,
    upload: async (rig, size) => {
      state = {
        head: Buffer.alloc(0),
        decoder: new ChunkedDecoder(),
        received: 0,
        corrupt: false,
        nextStop: CHUNK,
      };
      const baseline = live();
      peak = baseline;
      const status = await send(rig, listener.port, size);
      const { received, corrupt } = state;
      state = undefined;
      return { status, received, corrupt, memoryGrowth: peak - baseline };
    },
    stop: () => listener.stop(true),
  };
}

/** Returns the bytes after the request head once it is complete. */
function readHead(upload: Upload, bytes: Buffer): Buffer | undefined {
  if (upload.head === undefined) return bytes;
  const head = Buffer.concat([upload.head, bytes]);
  const end = head.indexOf("\r\n\r\n");
  if (end < 0) {
    upload.head = head;
    return undefined;
  }
  upload.head = undefined;
  return head.subarray(end + 4);
}

function check(upload: Upload, data: Uint8Array): void {
  for (let i = 0; i < data.byteLength; i += 1) {
    if (data[i] !== patternAt(upload.received + i)) upload.corrupt = true;
  }
  upload.received += data.byteLength;
}

/** The agent: the head, then `size` bytes in chunks, each written once the socket drained. */
async function send(rig: RelayRig, port: number, size: number): Promise<number | undefined> {
  const { socket, received } = await rig.session();
  const head = `PUT /127.0.0.1:${port}/upload HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\ntransfer-encoding: chunked\r\n\r\n`;
  socket.write(head);
  for (let offset = 0; offset < size; offset += CHUNK) {
    const data = Buffer.alloc(Math.min(CHUNK, size - offset));
    for (let i = 0; i < data.byteLength; i += 1) data[i] = patternAt(offset + i);
    const framed = Buffer.concat([
      Buffer.from(`${data.byteLength.toString(16)}\r\n`),
      data,
      Buffer.from("\r\n"),
    ]);
    if (!socket.write(framed)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  socket.write("0\r\n\r\n");
  let answers = parseAll(received());
  while (answers.length === 0 && !socket.destroyed) {
    await Bun.sleep(5);
    answers = parseAll(received());
  }
  socket.destroy();
  return answers[0]?.status;
}

export interface BulkUpstream {
  port: number;
  /** Body bytes the upstream's socket has taken so far. */
  produced(): number;
  stop(): void;
}

/** Answers any request with `size` bytes (the upload's pattern), writing only as its socket drains. */
export async function startBulkUpstream(size: number): Promise<BulkUpstream> {
  const pki = await testPki();
  let produced = 0;
  const pump = (socket: { write(data: Uint8Array): number }) => {
    while (produced < size) {
      const data = Buffer.alloc(Math.min(CHUNK, size - produced));
      for (let i = 0; i < data.byteLength; i += 1) data[i] = patternAt(produced + i);
      const written = Math.max(0, socket.write(data));
      produced += written;
      if (written < data.byteLength) return; // the rest when the socket drains
    }
  };
  const listener = Bun.listen<{ started: boolean }>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.server.certPem, key: pki.server.keyPem },
    socket: {
      open(socket) {
        socket.data = { started: false };
      },
      data(socket) {
        if (socket.data.started) return;
        socket.data.started = true;
        produced = 0;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`);
        pump(socket);
      },
      drain: (socket) => pump(socket),
      error() {},
    },
  });
  return { port: listener.port, produced: () => produced, stop: () => listener.stop(true) };
}

/**
 * The agent asks for the bulk answer and does not read it until the upstream's writes have stopped
 * (no progress across several polls), then reads all of it. Returns what the upstream had written
 * by then, live memory growth at that point, and the body as received.
 */
export async function downloadStalled(
  rig: RelayRig,
  bulk: BulkUpstream,
  size: number,
): Promise<{ producedWhileStalled: number; memoryGrowth: number; received: number; corrupt: boolean }> {
  const baseline = live();
  const { socket } = await rig.session();
  socket.pause();
  socket.write(
    `GET /127.0.0.1:${bulk.port}/bulk HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\n\r\n`,
  );
  let last = -1;
  let still = 0;
  while (still < 5) {
    await Bun.sleep(50);
    const now = bulk.produced();
    still = now === last && now > 0 ? still + 1 : 0;
    last = now;
  }
  const memoryGrowth = live() - baseline;
  let head = true;
  let received = 0;
  let corrupt = false;
  const done = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      let data = chunk;
      if (head) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) return;
        head = false;
        data = data.subarray(end + 4);
      }
      for (let i = 0; i < data.byteLength; i += 1) if (data[i] !== patternAt(received + i)) corrupt = true;
      received += data.byteLength;
      if (received >= size) resolve();
    });
    socket.on("close", () => resolve());
  });
  socket.resume();
  await done;
  socket.destroy();
  return { producedWhileStalled: last, memoryGrowth, received, corrupt };
}

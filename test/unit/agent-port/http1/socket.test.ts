import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { AgentSocket } from "../../../../src/agent-port/http1/socket.ts";

/**
 * A stand-in for Bun's TLS socket with its write contract: `write` takes at most `capacity` bytes
 * and returns how many it took (the rest is the caller's to keep). The real socket is exercised by
 * test/integration/agent-server.test.ts; this pins the adapter's queueing against that contract.
 */
function transport(capacity = Number.POSITIVE_INFINITY) {
  const state = { capacity, written: [] as Buffer[], writes: 0, ended: false, terminated: false };
  const raw = {
    write(bytes: Uint8Array) {
      state.writes += 1;
      const taken = Math.min(bytes.byteLength, state.capacity);
      state.capacity -= taken;
      if (taken > 0) state.written.push(Buffer.from(bytes.subarray(0, taken)));
      return taken;
    },
    end() {
      state.ended = true;
    },
    terminate() {
      state.terminated = true;
    },
  };
  const socket = new AgentSocket(raw as unknown as Socket<unknown>);
  return { socket, state, output: () => Buffer.concat(state.written).toString("latin1") };
}

describe("AgentSocket", () => {
  test("bytes received before a consumer is attached wait, then arrive in order", () => {
    const { socket } = transport();
    socket.receive(Buffer.from("GET / HT"));
    socket.receive(Buffer.from("TP/1.1\r\n"));
    const seen: string[] = [];
    socket.attach((chunk) => seen.push(chunk.toString()));
    expect(seen).toEqual(["GET / HT", "TP/1.1\r\n"]);
    socket.receive(Buffer.from("\r\n"));
    expect(seen).toEqual(["GET / HT", "TP/1.1\r\n", "\r\n"]);
  });

  test("more than 64 KiB before authentication closes the connection", () => {
    const { socket, state } = transport();
    socket.receive(Buffer.alloc(64 * 1024));
    expect(state.terminated).toBe(false);
    socket.receive(Buffer.alloc(1));
    expect(state.terminated).toBe(true);
    expect(socket.destroyed).toBe(true);
  });

  test("what the TLS layer does not take waits for drain, in order; end() follows the last byte", async () => {
    const { socket, state, output } = transport(5);
    expect(socket.write("hello world")).toBe(false);
    expect(socket.write("!")).toBe(false);
    socket.end();
    expect(state.ended).toBe(false);
    let drained = false;
    const waiting = socket.drained().then(() => {
      drained = true;
    });
    state.capacity = 3;
    socket.flush();
    expect(output()).toBe("hello wo");
    expect(drained).toBe(false);
    expect(state.ended).toBe(false);
    state.capacity = 100;
    socket.flush();
    await waiting;
    expect(output()).toBe("hello world!");
    expect(state.ended).toBe(true);
  });

  test("corked writes leave as one write; strings go out as latin1, one byte per character", () => {
    const { socket, state, output } = transport();
    socket.cork();
    socket.write("caf\u00e9 ");
    socket.write(new Uint8Array([0x41, 0x42]));
    expect(state.writes).toBe(0);
    socket.uncork();
    expect(state.writes).toBe(1);
    expect(Buffer.concat(state.written)).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x41, 0x42]));
    expect(output()).toBe("caf\u00e9 AB");
  });

  test("a lone corked string is written as latin1 too; empty writes add nothing", () => {
    const { socket, state } = transport();
    socket.cork();
    socket.write("");
    socket.write("\u00e9\r\n");
    socket.write(new Uint8Array(0));
    socket.uncork();
    expect(state.writes).toBe(1);
    expect(Buffer.concat(state.written)).toEqual(Buffer.from([0xe9, 0x0d, 0x0a]));
  });

  test("after destroy nothing is written and waiters are released", async () => {
    const { socket, state } = transport(0);
    socket.write("queued");
    const waiting = socket.drained();
    socket.destroy();
    await waiting;
    expect(state.terminated).toBe(true);
    expect(socket.write("more")).toBe(false);
  });
});

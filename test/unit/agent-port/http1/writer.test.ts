import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { AgentSocket } from "../../../../src/agent-port/http1/socket.ts";
import { writeResponse } from "../../../../src/agent-port/http1/writer.ts";

/** A transport that takes every byte at once: what is under test is the serialisation. */
function recordingSocket(chunks: Uint8Array[]): AgentSocket {
  const raw = {
    write: (bytes: Uint8Array) => chunks.push(Buffer.from(bytes)) && bytes.byteLength,
    end: () => undefined,
    terminate: () => undefined,
  };
  return new AgentSocket(raw as unknown as Socket<unknown>);
}

async function written(response: Response, method = "GET"): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const socket = recordingSocket(chunks);
  await writeResponse(socket, response, { method, minor: 1, keepAlive: true });
  await new Promise((resolve) => setImmediate(resolve));
  return Buffer.concat(chunks);
}

describe("writeResponse", () => {
  test("obs-text bytes in a field value go out as the same single bytes (latin1), not UTF-8", async () => {
    const bytes = await written(new Response("ok", { headers: { "x-name": "caf\u00e9" } }));
    const at = bytes.indexOf("x-name: caf");
    expect(at).toBeGreaterThan(0);
    expect(bytes[at + "x-name: caf".length]).toBe(0xe9);
    expect(bytes[at + "x-name: caf".length + 1]).toBe(0x0d);
  });

  test("each Set-Cookie stays its own field; a HEAD answer has no body", async () => {
    const headers = new Headers();
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    const text = (await written(new Response("body", { headers }), "HEAD")).toString("latin1");
    expect(text).toContain("set-cookie: a=1\r\n");
    expect(text).toContain("set-cookie: b=2\r\n");
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });
});

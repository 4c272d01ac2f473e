import { describe, expect, test } from "bun:test";
import { BodyTooLargeError, readCapped } from "../../../../src/core/io/read-capped.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe("readCapped", () => {
  test("stops reading an endless stream at the limit", async () => {
    let chunks = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        chunks += 1;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    await expect(readCapped(endless, 5000, null)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(chunks).toBeLessThan(10);
  });

  test("a declared length over the cap is refused without taking a reader", async () => {
    const body = streamOf("short");
    await expect(readCapped(body, 4, "5")).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(body.locked).toBe(false);
  });

  test("exactly the cap is read whole; no body is empty", async () => {
    expect(new TextDecoder().decode(await readCapped(streamOf("ab", "cd"), 4, null))).toBe("abcd");
    expect((await readCapped(null, 4, null)).byteLength).toBe(0);
    await expect(readCapped(streamOf("abcde"), 4, null)).rejects.toBeInstanceOf(BodyTooLargeError);
  });
});

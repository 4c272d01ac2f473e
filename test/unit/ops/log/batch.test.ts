import { describe, expect, test } from "bun:test";
import { createLineBatcher } from "../../../../src/ops/log/batch.ts";
import { writeText } from "../../../../src/ops/log/sink.ts";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

/** A batcher whose writes are collected as text; the bytes of earlier writes are kept as handed over. */
function collecting(maxBytes?: number, delayMs?: number) {
  const handed: Uint8Array[] = [];
  const batcher = createLineBatcher((bytes) => handed.push(bytes), maxBytes, delayMs);
  return {
    batcher,
    line: (text: string) => writeText(batcher, text),
    writes: () => handed.map((bytes) => decoder.decode(bytes)),
  };
}

describe("line batcher", () => {
  test("lines of the batch window leave in one write, in order, each ending in a newline", async () => {
    const { line, writes } = collecting(1024, 5);
    line("a");
    line("b");
    await nextTurn();
    // Another turn of the event loop (a lone agent's next request) still joins the same write.
    line("c");
    expect(writes()).toEqual([]);
    await after(20);
    expect(writes()).toEqual(["a\nb\nc\n"]);
    line("d");
    await after(20);
    // The first batch's bytes are not written over by the next one's.
    expect(writes()).toEqual(["a\nb\nc\n", "d\n"]);
  });

  test("a batch never grows past the byte bound: a line that may not fit sends the batch first", () => {
    // Room for a 5-character line (at most 15 bytes of UTF-8) and its newline, not for two.
    const { batcher, line, writes } = collecting(20);
    line("12345");
    expect(writes()).toEqual([]);
    line("67890");
    expect(writes()).toEqual(["12345\n"]);
    line("é");
    batcher.flush();
    expect(writes()).toEqual(["12345\n", "67890\né\n"]);
  });

  test("a batch that is full is written at once", () => {
    const { batcher, writes } = collecting(8);
    batcher.reserve(3).raw("abc");
    batcher.commit();
    expect(writes()).toEqual([]);
    batcher.reserve(3).raw("def");
    batcher.commit();
    expect(writes()).toEqual(["abc\ndef\n"]);
  });

  test("a line longer than a whole batch is written alone, after the lines before it", () => {
    const { line, writes } = collecting(16);
    line("a");
    line("0123456789");
    expect(writes()).toEqual(["a\n", "0123456789\n"]);
    line("b");
    expect(writes()).toEqual(["a\n", "0123456789\n"]);
  });

  test("a written batch's buffer is used again only once the writer is done with it", () => {
    const handed: Array<{ bytes: Uint8Array; done: () => void }> = [];
    const batcher = createLineBatcher((bytes, done) => handed.push({ bytes, done }), 1024);
    const batch = (text: string) => {
      writeText(batcher, text);
      batcher.flush();
    };
    batch("a");
    batch("b");
    batch("c");
    expect(new Set(handed.map(({ bytes }) => bytes.buffer)).size).toBe(3);
    handed[0]?.done();
    batch("d");
    batch("e");
    expect(handed[4]?.bytes.buffer).toBe(handed[0]?.bytes.buffer as ArrayBufferLike);
    // The batches the writer still holds were not written over.
    expect(handed.slice(1).map(({ bytes }) => decoder.decode(bytes))).toEqual(["b\n", "c\n", "d\n", "e\n"]);
  });

  test("flush writes what is pending now, and nothing twice", async () => {
    const { batcher, line, writes } = collecting();
    line("x");
    batcher.flush();
    expect(writes()).toEqual(["x\n"]);
    await after(40);
    batcher.flush();
    expect(writes()).toEqual(["x\n"]);
  });
});

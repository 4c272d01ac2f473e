import { describe, expect, test } from "bun:test";
import { createLineBatcher } from "../../../../src/ops/log/batch.ts";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("line batcher", () => {
  test("lines of the batch window leave in one write, in order, each ending in a newline", async () => {
    const writes: string[] = [];
    const batcher = createLineBatcher((text) => writes.push(text), 1024, 5);
    batcher.line("a");
    batcher.line("b");
    await nextTurn();
    // Another turn of the event loop (a lone agent's next request) still joins the same write.
    batcher.line("c");
    expect(writes).toEqual([]);
    await after(20);
    expect(writes).toEqual(["a\nb\nc\n"]);
    batcher.line("d");
    await after(20);
    expect(writes).toEqual(["a\nb\nc\n", "d\n"]);
  });

  test("a batch reaching the byte bound is written at once, so memory stays bounded", () => {
    const writes: string[] = [];
    const batcher = createLineBatcher((text) => writes.push(text), 10);
    batcher.line("12345");
    expect(writes).toEqual([]);
    batcher.line("67890");
    expect(writes).toEqual(["12345\n67890\n"]);
  });

  test("flush writes what is pending now, and nothing twice", async () => {
    const writes: string[] = [];
    const batcher = createLineBatcher((text) => writes.push(text));
    batcher.line("x");
    batcher.flush();
    expect(writes).toEqual(["x\n"]);
    await after(40);
    expect(writes).toEqual(["x\n"]);
  });
});

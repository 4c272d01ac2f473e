/**
 * Log lines leave in batches. Under load the proxy logs a line per request, and a write per line is
 * a system call per request (docs/benchmarks.md, "Access log batching"); one write per event-loop
 * turn is still one per request for a lone agent calling in sequence. A line waits at most `delayMs`
 * (a timer armed by the first line of a batch, not one per line); a batch never grows past
 * `maxBytes` (a line that might not fit sends the batch first), so memory stays bounded and order is
 * kept; and `flush` writes what is pending (the serve command calls it on the way out, so stopping
 * loses no line). Lines are written as bytes into the batch's buffer (./line-buffer.ts), which is
 * handed to `write` whole: no string per line, no joined batch, no UTF-8 copy of it for stdout.
 */
import { LineBuffer } from "./line-buffer.ts";
import type { LineSink } from "./sink.ts";

export interface LineBatcher extends LineSink {
  flush(): void;
}

const NEWLINE = 0x0a;

/**
 * Takes a batch's bytes; calls `done` (if it does) once it no longer reads them, and the buffer is
 * used again for a later batch (a pipe's queue may hold the bytes until the reader takes them).
 */
export type BatchWriter = (bytes: Uint8Array, done: () => void) => void;

export function createLineBatcher(write: BatchWriter, maxBytes = 64 * 1024, delayMs = 20): LineBatcher {
  let batch = new LineBuffer(maxBytes);
  /** A written batch's buffer the writer is done with: bounded to one, so at most two are kept. */
  let spare: LineBuffer | undefined;
  /** A line longer than a whole batch: written alone, right after the batch before it. */
  let oversized: LineBuffer | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.pos === 0) return;
    const full = batch;
    batch = spare ?? new LineBuffer(maxBytes);
    spare = undefined;
    // Never written over while the writer may still read them.
    write(full.bytes.subarray(0, full.pos), () => {
      full.pos = 0;
      spare = full;
    });
  };
  return {
    reserve(bytes) {
      if (batch.pos + bytes + 1 <= maxBytes) return batch;
      flush();
      if (bytes + 1 <= maxBytes) return batch;
      oversized = new LineBuffer(bytes + 1);
      return oversized;
    },
    commit() {
      if (oversized !== undefined) {
        oversized.bytes[oversized.pos++] = NEWLINE;
        write(oversized.bytes.subarray(0, oversized.pos), () => {});
        oversized = undefined;
        return;
      }
      batch.bytes[batch.pos++] = NEWLINE;
      if (batch.pos >= maxBytes) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, delayMs);
        // Pending lines never keep a stopping process alive; its last act is flush().
        timer.unref();
      }
    },
    flush,
  };
}

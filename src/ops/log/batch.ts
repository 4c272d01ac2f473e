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

export function createLineBatcher(
  write: (bytes: Uint8Array) => void,
  maxBytes = 64 * 1024,
  delayMs = 20,
): LineBatcher {
  let batch = new LineBuffer(maxBytes);
  /** A line longer than a whole batch: written alone, right after the batch before it. */
  let oversized: LineBuffer | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.pos === 0) return;
    const filled = batch.bytes.subarray(0, batch.pos);
    // The writer may keep the bytes (a pipe's queue): they are never written over.
    batch = new LineBuffer(maxBytes);
    write(filled);
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
        write(oversized.bytes.subarray(0, oversized.pos));
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

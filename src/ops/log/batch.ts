/**
 * Log lines leave in batches. Under load the proxy logs a line per request, and a write per line is
 * a system call per request (docs/benchmarks.md, "Access log batching"); one write per event-loop
 * turn is still one per request for a lone agent calling in sequence. A line waits at most `delayMs`
 * (a timer armed by the first line of a batch, not one per line), a batch reaching `maxBytes` is
 * written at once, so memory stays bounded and order is kept, and `flush` writes what is pending
 * (the serve command calls it on the way out, so stopping loses no line).
 */
export interface LineBatcher {
  line(text: string): void;
  flush(): void;
}

export function createLineBatcher(
  write: (text: string) => void,
  maxBytes = 64 * 1024,
  delayMs = 20,
): LineBatcher {
  let pending: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    size = 0;
    write(text);
  };
  return {
    line(text) {
      pending.push(`${text}\n`);
      size += text.length + 1;
      if (size >= maxBytes) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, delayMs);
        // Pending lines never keep a stopping process alive; its last act is flush().
        timer.unref();
      }
    },
    flush,
  };
}

/**
 * Log lines produced in one turn of the event loop leave in one write. Under load the proxy logs a
 * line per request, and a write per line is a system call per request (docs/benchmarks.md, "Access
 * log batching"). A line waits at most until the current I/O callbacks are done (setImmediate), and a
 * batch reaching `maxBytes` is written at once, so memory stays bounded and order is kept.
 */
export interface LineBatcher {
  line(text: string): void;
  flush(): void;
}

export function createLineBatcher(write: (text: string) => void, maxBytes = 64 * 1024): LineBatcher {
  let pending: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
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
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

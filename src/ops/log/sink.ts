/**
 * Where a logger writes its lines: in place, as UTF-8 bytes. The serve command's sink is the
 * batcher (./batch.ts); `textLines` hands each line over as a string (tests, `surrogate dev`).
 */
import { LineBuffer } from "./line-buffer.ts";

export interface LineSink {
  /** The buffer to write one line into at its `pos`, with room for `bytes` more bytes. */
  reserve(bytes: number): LineBuffer;
  /** The line written since `reserve` is complete (the sink ends it). */
  commit(): void;
}

/** A line of formatted JSON text, through any sink: at most 3 bytes of UTF-8 per UTF-16 unit. */
export function writeText(sink: LineSink, text: string): void {
  sink.reserve(3 * text.length).text(text);
  sink.commit();
}

/** Each line, without its newline, as a string. */
export function textLines(write: (line: string) => void): LineSink {
  const decoder = new TextDecoder();
  let buffer = new LineBuffer(4096);
  return {
    reserve(bytes) {
      if (bytes > buffer.bytes.length) buffer = new LineBuffer(bytes);
      buffer.pos = 0;
      return buffer;
    },
    commit() {
      write(decoder.decode(buffer.bytes.subarray(0, buffer.pos)));
    },
  };
}

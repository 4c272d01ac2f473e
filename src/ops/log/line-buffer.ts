/**
 * A log line written as UTF-8 bytes straight into a buffer: the proxy logs a line per request, and
 * building it as strings (fields, a JSON text, a joined batch, its UTF-8 copy for stdout) cost ~8 %
 * of a proxied request's CPU under load (docs/benchmarks.md, "Access line"). Values are escaped on
 * the way in, so the buffer only ever holds whole, valid JSON text.
 */
export class LineBuffer {
  bytes: Uint8Array;
  /** Where the next byte goes. */
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  /** Text that needs no escaping: the logger's own keys and punctuation (ASCII, no quote or backslash). */
  raw(text: string): void {
    const { bytes } = this;
    let pos = this.pos;
    for (let index = 0; index < text.length; index += 1) bytes[pos++] = text.charCodeAt(index);
    this.pos = pos;
  }

  /** Formatted JSON text (a line from JSON.stringify), UTF-8 encoded as it is. */
  text(json: string): void {
    this.pos += encoder.encodeInto(json, this.bytes.subarray(this.pos)).written;
  }

  /** Bytes prepared once (a line's constant part). */
  copy(constant: Uint8Array): void {
    this.bytes.set(constant, this.pos);
    this.pos += constant.length;
  }

  /**
   * A JSON string literal of a value from outside. Beyond JSON's own escapes (quote, backslash, C0
   * controls), DEL, the C1 controls (some terminals act on them) and U+2028/U+2029 (line breaks to
   * some log viewers) are escaped too, so no value can move the cursor or split a line; a lone
   * surrogate is escaped as JSON.stringify does, so the bytes stay valid UTF-8.
   */
  string(value: string): void {
    const { bytes } = this;
    let pos = this.pos;
    bytes[pos++] = QUOTE;
    for (let index = 0; index < value.length; index += 1) {
      const code = value.charCodeAt(index);
      if (code >= 0x20 && code < 0x7f) {
        if (code === QUOTE || code === BACKSLASH) bytes[pos++] = BACKSLASH;
        bytes[pos++] = code;
      } else if (code <= 0x9f || code === 0x2028 || code === 0x2029) {
        pos = escaped(bytes, pos, code);
      } else if (code < 0x800) {
        bytes[pos++] = 0xc0 | (code >> 6);
        bytes[pos++] = 0x80 | (code & 0x3f);
      } else if (code < 0xd800 || code > 0xdfff) {
        pos = threeBytes(bytes, pos, code);
      } else {
        const next = value.charCodeAt(index + 1);
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          pos = fourBytes(bytes, pos, 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00));
          index += 1;
        } else pos = escaped(bytes, pos, code);
      }
    }
    bytes[pos++] = QUOTE;
    this.pos = pos;
  }

  /** A JSON number; what JSON cannot say (NaN, ±Infinity) is `null`, as JSON.stringify writes it. */
  number(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      this.raw(Number.isFinite(value) ? String(value) : "null");
      return;
    }
    // Integers (statuses, lengths, milliseconds) digit by digit: no string per number.
    const { bytes } = this;
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    let pos = this.pos + digits;
    this.pos = pos;
    let rest = value;
    do {
      bytes[--pos] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
  }
}

/** Bytes a value of `length` UTF-16 units takes at most as a string literal: `\u00XX` per unit, quotes. */
export function stringBound(length: number): number {
  return 6 * length + 2;
}

const encoder = new TextEncoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = "0123456789abcdef";
/** JSON's short escapes (RFC 8259 §7), by code unit. */
const SHORT: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };

function escaped(bytes: Uint8Array, start: number, code: number): number {
  let pos = start;
  bytes[pos++] = BACKSLASH;
  const short = SHORT[code];
  if (short !== undefined) {
    bytes[pos++] = short;
    return pos;
  }
  bytes[pos++] = 0x75; // u
  for (let shift = 12; shift >= 0; shift -= 4) bytes[pos++] = HEX.charCodeAt((code >> shift) & 0xf);
  return pos;
}

function threeBytes(bytes: Uint8Array, start: number, code: number): number {
  bytes[start] = 0xe0 | (code >> 12);
  bytes[start + 1] = 0x80 | ((code >> 6) & 0x3f);
  bytes[start + 2] = 0x80 | (code & 0x3f);
  return start + 3;
}

function fourBytes(bytes: Uint8Array, start: number, point: number): number {
  bytes[start] = 0xf0 | (point >> 18);
  bytes[start + 1] = 0x80 | ((point >> 12) & 0x3f);
  bytes[start + 2] = 0x80 | ((point >> 6) & 0x3f);
  bytes[start + 3] = 0x80 | (point & 0x3f);
  return start + 4;
}

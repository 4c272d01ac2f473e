import { describe, expect, test } from "bun:test";
import { LineBuffer, stringBound } from "../../../../src/ops/log/line-buffer.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

function written(fill: (out: LineBuffer) => void, size = 1024): string {
  const out = new LineBuffer(size);
  fill(out);
  return decoder.decode(out.bytes.subarray(0, out.pos));
}

/** What the logger's other lines do: JSON.stringify, then DEL, C1 and U+2028/2029 escaped too. */
function reference(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Raw characters a terminal or log viewer acts on: none may be left in a line. */
function rawControls(text: string): string[] {
  return [...text].filter((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });
}

describe("LineBuffer", () => {
  test("a hostile value becomes one JSON string that reads back as itself, with no raw control", () => {
    const hostile = 'x\n{"event":"forged"}\r\u001b[2J\u007f\u009b\u2028\u2029\\"\t\b\f\u0000';
    const text = written((out) => out.string(hostile));
    expect(rawControls(text)).toEqual([]);
    expect(JSON.parse(text)).toBe(hostile);
    expect(text).toBe(reference(hostile));
  });

  test("UTF-8 of every width; a lone surrogate is escaped, so the bytes stay valid UTF-8", () => {
    for (const value of [
      "é",
      "ÿĀ߿",
      "ࠀ€￿",
      "😀 a 😀",
      "\ud800",
      "a\udc00b",
      "\udbff\udbff\udfff",
      "\ud83d",
    ]) {
      const text = written((out) => out.string(value));
      expect(text).toBe(reference(value));
      expect(JSON.parse(text)).toBe(value);
    }
  });

  test("random values of any code unit match JSON.stringify plus the extra escapes, within the bound", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    const units = [0, 0x1f, 0x20, 0x22, 0x5c, 0x7e, 0x7f, 0x9f, 0xa0, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff];
    for (let round = 0; round < 500; round += 1) {
      const length = next() % 40;
      let value = "";
      for (let index = 0; index < length; index += 1) {
        const pick = next() % 4;
        const code =
          pick === 0
            ? (units[next() % units.length] as number)
            : pick === 1
              ? 0xdc00 + (next() % 0x400)
              : pick === 2
                ? 0x20 + (next() % 0x5f)
                : next() % 0x10000;
        value += String.fromCharCode(code);
      }
      const out = new LineBuffer(stringBound(value.length));
      out.string(value);
      expect(out.pos).toBeLessThanOrEqual(stringBound(value.length));
      expect(decoder.decode(out.bytes.subarray(0, out.pos))).toBe(reference(value));
    }
  });

  test("numbers are written as JSON writes them; what JSON cannot say is null", () => {
    const values = [
      0,
      7,
      10,
      200,
      1234567,
      2 ** 53 - 1,
      -3,
      0.5,
      12.25,
      1e21,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    const text = written((out) => {
      for (const [index, value] of values.entries()) {
        if (index > 0) out.raw(",");
        out.number(value);
      }
    });
    expect(text).toBe(values.map((value) => JSON.stringify(value)).join(","));
  });

  test("formatted text and prepared bytes are copied as they are", () => {
    const text = written((out) => {
      out.text('{"a":"é😀"');
      out.copy(new TextEncoder().encode(',"b":1}'));
    });
    expect(text).toBe('{"a":"é😀","b":1}');
  });
});

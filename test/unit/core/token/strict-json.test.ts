import { describe, expect, test } from "bun:test";
import {
  DuplicateMemberError,
  parseStrictJson,
  StrictJsonError,
} from "../../../../src/core/io/strict-json.ts";

describe("parseStrictJson", () => {
  test("parses valid JSON like JSON.parse", () => {
    const text = '{"a":[1,2,{"b":"c\\"d"}],"e":null,"f":true,"g":-1.5e3,"h":{"a":1}}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    expect(parseStrictJson(' [ {"a":1} , {"a":2} ] ')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  test("refuses duplicate members at any depth, compared after unescaping", () => {
    for (const text of ['{"a":1,"a":2}', '{"x":{"a":1,"a":1}}', '[{"a":1,"a":2}]', '{"a":1,"\\u0061":2}']) {
      expect(() => parseStrictJson(text)).toThrow(DuplicateMemberError);
    }
  });

  test("refuses invalid JSON, trailing data and deep nesting", () => {
    for (const text of [
      "",
      "{",
      '{"a":}',
      "{} {}",
      '{"a":1,}',
      "nul",
      '"\\x"',
      `${"[".repeat(40)}${"]".repeat(40)}`,
    ]) {
      expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
    }
  });
});

import { describe, expect, test } from "bun:test";
import { FieldList } from "../../../../src/core/http/field-list.ts";

describe("FieldList", () => {
  test("keeps the order fields arrived in, names lower-cased, repeated fields as separate lines", () => {
    const fields = new FieldList();
    fields.append("Accept", "a");
    fields.append("X-Thing", "1");
    fields.append("x-thing", "2");
    expect([...fields]).toEqual([
      ["accept", "a"],
      ["x-thing", "1"],
      ["x-thing", "2"],
    ]);
    expect(fields.get("X-THING")).toBe("1, 2");
    expect(fields.get("missing")).toBeNull();
    expect(fields.has("accept")).toBe(true);
  });

  test("set replaces every field of the name (an agent's own copies of an injected header go)", () => {
    const fields = new FieldList();
    fields.append("authorization", "agent's");
    fields.append("accept", "a");
    fields.append("Authorization", "agent's again");
    fields.set("Authorization", "Bearer real");
    expect([...fields]).toEqual([
      ["accept", "a"],
      ["authorization", "Bearer real"],
    ]);
    fields.delete("ACCEPT");
    expect([...fields.toHeaders()]).toEqual([["authorization", "Bearer real"]]);
  });
});

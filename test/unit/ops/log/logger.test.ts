import { describe, expect, test } from "bun:test";
import { Secret } from "../../../../src/core/secret.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";

describe("logger", () => {
  test("one JSON object per line with time, kind, event and instance", () => {
    const logger = createMemoryLogger("i-1");
    logger.audit("grant.created", { workload: "spiffe://a/b", outcome: "created" });
    logger.access({ status: 200 });
    expect(logger.lines).toHaveLength(2);
    expect(JSON.parse(logger.lines[0]!)).toMatchObject({
      kind: "audit",
      event: "grant.created",
      instance: "i-1",
      workload: "spiffe://a/b",
    });
    expect(JSON.parse(logger.lines[1]!)).toMatchObject({
      kind: "access",
      event: "proxy.request",
      status: 200,
    });
  });

  test("control characters from outside cannot break or forge a line", () => {
    const logger = createMemoryLogger();
    const hostile = 'x\n{"event":"forged"}\r\u001b[2J\u007f\u009b\u2028\u2029';
    logger.audit("auth.failed", { workload: hostile });
    const [line] = logger.lines;
    expect(line).toBeDefined();
    const raw = [...line!].filter((c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    });
    expect(raw).toEqual([]);
    expect(JSON.parse(line!).workload).toBe(hostile);
  });

  test("a Secret in a field is written redacted", () => {
    const logger = createMemoryLogger();
    const secret = new Secret("canary-secret-value");
    logger.info("x", { value: String(secret) });
    expect(logger.lines.join("")).not.toContain("canary-secret-value");
    expect(logger.lines.join("")).toContain("[redacted]");
  });

  test("a field cannot change what the line is: time, kind, event and instance stay the logger's", () => {
    const logger = createMemoryLogger("i-1");
    logger.error("web.request_failed", {
      kind: "audit",
      event: "forged",
      time: "then",
      instance: "x",
      code: "c",
    });
    logger.info("plain");
    logger.access({});
    const [forged, plain, empty] = logger.lines.map((line) => JSON.parse(line));
    expect(forged).toMatchObject({ kind: "error", event: "web.request_failed", instance: "i-1", code: "c" });
    expect(forged.time).not.toBe("then");
    expect(Object.keys(plain)).toEqual(["time", "kind", "event", "instance"]);
    expect(Object.keys(empty)).toEqual(["time", "kind", "event", "instance"]);
    expect(Date.parse(plain.time)).not.toBeNaN();
  });
});

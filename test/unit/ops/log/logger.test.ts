import { describe, expect, test } from "bun:test";
import { Secret } from "../../../../src/core/secret.ts";
import { AccessRecord } from "../../../../src/ops/log/access.ts";
import { createLineBatcher } from "../../../../src/ops/log/batch.ts";
import { createLogger, createMemoryLogger } from "../../../../src/ops/log/logger.ts";

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

  test("an access line: the head, then every field set, in one order; unset fields are left out", () => {
    const logger = createMemoryLogger("i-1");
    const refused = new AccessRecord("spiffe://a/b", "GET");
    refused.status = 401;
    refused.code = "invalid_token";
    refused.duration_ms = 0;
    logger.access(refused);
    const served = new AccessRecord("spiffe://a/b", "POST");
    Object.assign(served, {
      host: "api.example:8443",
      path: "/v1/items",
      cache: "hit",
      jti: "j-1",
      provider: "github",
      status: 200,
      bytes: 1234,
      duration_ms: 17,
    });
    logger.access(served);
    const [first, second] = logger.lines.map((line) => JSON.parse(line));
    const head = ["time", "kind", "event", "instance"];
    expect(Object.keys(first)).toEqual([...head, "workload", "method", "status", "code", "duration_ms"]);
    expect(first).toMatchObject({ kind: "access", event: "proxy.request", instance: "i-1", status: 401 });
    expect(Date.parse(first.time)).not.toBeNaN();
    expect(second).toEqual({
      time: second.time,
      kind: "access",
      event: "proxy.request",
      instance: "i-1",
      workload: "spiffe://a/b",
      method: "POST",
      host: "api.example:8443",
      path: "/v1/items",
      cache: "hit",
      jti: "j-1",
      provider: "github",
      status: 200,
      bytes: 1234,
      duration_ms: 17,
    });
  });

  test("values from outside cannot break or forge an access line, however long", () => {
    const logger = createMemoryLogger('i"\u2028\u0085');
    const hostile = 'x\n{"event":"forged"}\r\u001b[2J\u007f\u009b\u2028\u2029\ud800é😀';
    const record = new AccessRecord(hostile, hostile);
    Object.assign(record, { host: hostile, path: hostile.repeat(2000), jti: hostile, provider: hostile });
    record.code = hostile;
    logger.access(record);
    expect(logger.lines).toHaveLength(1);
    const [line] = logger.lines as [string];
    const raw = [...line].filter((c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    });
    expect(raw).toEqual([]);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ event: "proxy.request", instance: 'i"\u2028\u0085', workload: hostile });
    expect(parsed.path).toBe(hostile.repeat(2000));
  });

  test("through the batcher, access and other lines leave as UTF-8 JSON lines, in order", () => {
    const writes: Uint8Array[] = [];
    const lines = createLineBatcher((bytes) => writes.push(bytes), 4096);
    const logger = createLogger(lines, "i-é");
    for (let index = 0; index < 40; index += 1) {
      logger.access(Object.assign(new AccessRecord("spiffe://a/é", "GET"), { status: 200, bytes: index }));
      if (index % 10 === 0) logger.audit("token.minted", { n: index, workload: "spiffe://a/é" });
    }
    lines.flush();
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.every((bytes) => bytes.length <= 4096)).toBe(true);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(writes));
    expect(text.endsWith("\n")).toBe(true);
    const parsed = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(parsed.map((line) => line.bytes ?? `audit ${line.n}`)).toEqual(
      Array.from({ length: 40 }, (_, index) =>
        index % 10 === 0 ? [index, `audit ${index}`] : [index],
      ).flat(),
    );
    expect(parsed.every((line) => line.instance === "i-é")).toBe(true);
  });
});

import { expect, test } from "bun:test";
import { createRefusalLog } from "../../../src/agent-port/refusal-log.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";

test("every refusal is counted; each source is logged at most once a minute", () => {
  const logger = createMemoryLogger();
  let now = 0;
  const counted: string[] = [];
  const log = createRefusalLog(
    logger,
    () => now,
    (reason) => counted.push(reason),
  );
  for (let i = 0; i < 5; i += 1) log.refused("per_address", "10.0.0.1");
  log.refused("handshake_timeout", "10.0.0.2");
  log.refused("per_address", "2001:db8:0:1::1");
  log.refused("per_address", "2001:db8:0:1::2");
  now = 59_999;
  log.refused("per_address", "10.0.0.1");
  expect(counted).toHaveLength(9);
  expect(logger.lines).toHaveLength(3);
  expect(JSON.parse(logger.lines[2]!)).toMatchObject({ remote: "2001:db8:0:1::/64" });
  now = 60_000;
  log.refused("pending_handshakes", "10.0.0.1");
  expect(logger.lines).toHaveLength(4);
  expect(JSON.parse(logger.lines[3]!)).toMatchObject({
    event: "connection.refused",
    reason: "pending_handshakes",
    remote: "10.0.0.1",
  });
});

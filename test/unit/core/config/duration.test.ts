import { describe, expect, test } from "bun:test";
import { parseDuration } from "../../../../src/core/config/duration.ts";
import { configFailure } from "./failure.ts";

describe("parseDuration", () => {
  test.each([
    ["90s", 90],
    ["15m", 900],
    ["1h", 3600],
    ["1d", 86_400],
    ["1h30m", 5400],
    ["2m5s", 125],
    [45, 45],
  ] as const)("%p is %p seconds", (input, seconds) => {
    expect(parseDuration(input, "token_ttl")).toBe(seconds);
  });

  test.each([
    ["", 'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "")'],
    ["1", 'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "1")'],
    ["1 h", 'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "1 h")'],
    ["1w", 'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "1w")'],
    ["-5s", 'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "-5s")'],
    ["0s", "token_ttl: must be a positive duration"],
    ["367d", "token_ttl: must be at most 366d"],
    [0, "token_ttl: must be a positive duration"],
    [-1, "token_ttl: must be a positive duration"],
    [1.5, "token_ttl: must be a whole number of seconds"],
  ] as const)("%p is refused", async (input, message) => {
    const error = await configFailure(() => parseDuration(input, "token_ttl"));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toBe(message);
  });

  test("a long invalid value is clipped in the message", async () => {
    const error = await configFailure(() => parseDuration("x".repeat(100), "agent.idle_timeout"));
    expect(error.message).toBe(
      `agent.idle_timeout: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "${"x".repeat(32)}…")`,
    );
  });
});

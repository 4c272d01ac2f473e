import { describe, expect, test } from "bun:test";
import { parseListen } from "../../../../src/core/config/listen.ts";
import { configFailure } from "./failure.ts";

describe("parseListen", () => {
  test.each([
    ["0.0.0.0:8080", { host: "0.0.0.0", port: 8080 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["broker.internal:443", { host: "broker.internal", port: 443 }],
    ["[::]:8443", { host: "::", port: 8443 }],
    ["[::1]:65535", { host: "::1", port: 65_535 }],
  ])("%p", (text, expected) => {
    expect(parseListen(text, "web.listen")).toEqual(expected);
  });

  test.each([
    ["8080", 'must be "host:port" or "[ipv6]:port"'],
    [":8080", 'must be "host:port" or "[ipv6]:port"'],
    ["host:", 'must be "host:port" or "[ipv6]:port"'],
    ["host:123456", 'must be "host:port" or "[ipv6]:port"'],
    ["host:99999", "port must be between 0 and 65535"],
    ["[::1]", 'must be "host:port" or "[ipv6]:port"'],
    ["[zz::1]:80", 'must be "host:port" or "[ipv6]:port"'],
    ["[1.2.3.4]:80", "1.2.3.4 is not an IPv6 address"],
    ["a_b:80", 'must be "host:port" or "[ipv6]:port"'],
    ["a..b:80", "host must be an IPv4 address, a hostname or a bracketed IPv6 address"],
  ])("%p is refused", async (text, problem) => {
    const error = await configFailure(() => parseListen(text, "agent.listen"));
    expect(error.message).toBe(`agent.listen: ${problem}`);
  });
});

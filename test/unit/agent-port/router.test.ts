import { describe, expect, test } from "bun:test";
import type { AgentHandler, AgentRequest } from "../../../src/agent-port/http1/types.ts";
import { routeAgentRequests } from "../../../src/agent-port/router.ts";

const answer =
  (name: string): AgentHandler =>
  async () =>
    new Response(name);
const route = routeAgentRequests({ broker: answer("broker"), proxy: answer("proxy") });

async function routed(target: string): Promise<string> {
  return (await route({ method: "GET", target } as AgentRequest)).text();
}

describe("routeAgentRequests", () => {
  test.each([
    "/v1",
    "/v1/grants",
    "/v1?x",
    "/.well-known",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known?x",
  ])("%p is the broker's", async (target) => {
    expect(await routed(target)).toBe("broker");
  });

  test.each([
    "/api.github.com/v1/user",
    "/v10/x",
    "/.well-knownx/y",
    "/.well-known.example.com/x",
    "/127.0.0.1:8443/.well-known/oauth-authorization-server",
  ])("%p is the proxy's", async (target) => {
    expect(await routed(target)).toBe("proxy");
  });
});

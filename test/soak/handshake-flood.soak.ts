/**
 * Run before releases with `bun run soak` (not part of `bun test`: it takes minutes on a shared
 * machine). 10,000 handshakes with bad client certificates of every kind against the real agent
 * server: none reaches the handler, nothing reaches an upstream, and a good client is still served.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { badHandshakeFlood, rawClient } from "../security/flood.ts";
import {
  expectNoUpstreamContact,
  type Rig,
  rawExchange,
  snapshot,
  startAgent,
  startRig,
  wrapperFor,
} from "../security/harness.ts";

let rig: Rig;
let agent: AgentServer;

beforeAll(async () => {
  rig = await startRig();
  agent = await startAgent(rig);
});

afterAll(async () => {
  await agent.close();
  await rig.stop();
});

test("10,000 bad-certificate handshakes, 50 at a time, mixed kinds: none reaches the handler", async () => {
  const token = await wrapperFor(rig, rig.pki.alpha);
  const bytes = `GET /127.0.0.1:${rig.upstream.port}/user HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
  const before = snapshot(rig);
  const calls = rig.calls();
  const answered = await badHandshakeFlood(rig, agent, bytes, { total: 10_000, concurrency: 50 });
  expect({ answered, calls: rig.calls() - calls }).toEqual({ answered: 0, calls: 0 });
  expectNoUpstreamContact(rig, before);
  const ok = await rawExchange(agent.port, rig.pki.ca.certPem, rawClient(rig.pki.alpha), bytes);
  expect(ok.status).toBe(200);
});

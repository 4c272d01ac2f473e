import type { AgentHandler } from "../../src/agent-port/http1/types.ts";
import { type AgentServer, type AgentServerOptions, startAgentServer } from "../../src/agent-port/server.ts";
import { ClientTrust } from "../../src/core/identity/trust.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import type { TestPki } from "./pki.ts";

export const TEST_AGENT_LIMITS = {
  headersTimeout: 10,
  idleTimeout: 30,
  requestTimeout: 60,
  maxHeaderSize: 8192,
};

/** A plain `client_ca` trust (no trust domains) made of these CA certificates. */
export function trustOf(...ders: Uint8Array[]): ClientTrust {
  return new ClientTrust({ clientCa: { source: "agent.client_ca (test)", ders } });
}

/**
 * The real agent port on a free loopback port: the test PKI's server certificate, client
 * certificates checked against its CA, `handler` behind it. `options` override any of that.
 */
export function startTestAgent(
  pki: TestPki,
  handler: AgentHandler,
  options: Partial<AgentServerOptions> = {},
): Promise<AgentServer> {
  return startAgentServer({
    host: "127.0.0.1",
    port: 0,
    certPem: pki.server.certPem,
    keyPem: pki.server.keyPem,
    trust: trustOf(pki.ca.der),
    limits: TEST_AGENT_LIMITS,
    logger: createMemoryLogger(),
    handler,
    ...options,
  });
}

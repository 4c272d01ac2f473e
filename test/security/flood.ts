/**
 * A flood of handshakes with bad client certificates of every kind the PKI has (none, another CA,
 * self-signed, expired, wrong EKU, CA leaf, rogue intermediate, two URI SANs, every malformed SPIFFE
 * ID) against the real agent server: how many connections got any answer at all. The suite runs a
 * small one (test/security/mtls.test.ts); `bun run soak` runs 10,000 (test/soak/).
 */
import type { AgentServer } from "../../src/agent-port/server.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { type RawClient, type Rig, rawExchange } from "./harness.ts";

export function rawClient(cert: IssuedCertificate & { chainPem?: string }): RawClient {
  return { certPem: cert.chainPem ?? cert.certPem, keyPem: cert.keyPem };
}

/** Connections that got any bytes back; `bytes` is sent after each handshake that succeeds. */
export async function badHandshakeFlood(
  rig: Rig,
  agent: AgentServer,
  bytes: string,
  options: { total: number; concurrency: number },
): Promise<number> {
  const bad = rig.pki.bad;
  const kinds: RawClient[] = [
    {},
    rawClient(bad.otherCa),
    rawClient(bad.selfSigned),
    rawClient(bad.expired),
    rawClient(bad.wrongEku),
    rawClient(bad.caLeaf),
    rawClient(bad.rogueIntermediate),
    rawClient(bad.twoUris),
    ...Object.values(bad.badSpiffe).map(rawClient),
  ];
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < options.total) {
      const who = kinds[next++ % kinds.length] ?? {};
      const result = await rawExchange(agent.port, rig.pki.ca.certPem, who, bytes);
      if (result.raw !== "") answered += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return answered;
}

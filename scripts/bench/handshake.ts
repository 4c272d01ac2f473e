/**
 * `bun scripts/bench/handshake.ts [handshakes]`: what admitting one agent connection costs.
 *
 * 1. The in-code check alone (no socket): the client chain (leaf + intermediate) described and
 *    verified against the trust bundle, as the agent port does after every TLS handshake. Cold = a
 *    chain never seen before; warm = the same chain again (every reconnect of one workload).
 *    Baseline, same run: node:crypto parsing the two certificates and verifying their two
 *    signatures, the least any in-code chain check can do.
 * 2. Real mTLS handshakes on loopback, one connection after another, each answered with one
 *    request: the agent server (src/agent-port/server.ts) against a bare Bun.listen with the same
 *    TLS material that answers without any in-code check. Alternated, same run.
 */
import { X509Certificate } from "node:crypto";
import { startAgentServer } from "../../src/agent-port/server.ts";
import { ClientTrust } from "../../src/core/identity/trust.ts";
import { createCa, issueCertificate, loadCa } from "../../src/core/pki/issue.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { type AdmissionCheck, admissionCheck } from "./lib/admission.ts";

const HANDSHAKES = Number(process.argv[2] ?? 400);
const CHECKS = 2_000;

const ca = await createCa({ commonName: "bench CA" });
const intermediate = await issueCertificate(ca, {
  usage: "client",
  commonName: "bench intermediate",
  isCa: true,
});
const sub = await loadCa(intermediate.certPem, intermediate.keyPem);
const server = await issueCertificate(ca, {
  usage: "server",
  commonName: "localhost",
  ipAddresses: ["127.0.0.1"],
});
const leaves = await Promise.all(
  Array.from({ length: 64 }, (_, i) =>
    issueCertificate(sub, { usage: "client", uris: [`spiffe://bench.example/agents/a${i}`] }),
  ),
);

function microseconds(run: () => void, n: number): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < n; i++) run();
  return (Bun.nanoseconds() - start) / n / 1000;
}

function baseline(leaf: Uint8Array): void {
  const cert = new X509Certificate(leaf);
  const issuer = new X509Certificate(intermediate.der);
  const root = new X509Certificate(ca.der);
  if (!cert.verify(issuer.publicKey) || !issuer.verify(root.publicKey)) throw new Error("baseline failed");
}

function inCode(check: AdmissionCheck) {
  // Caches key on content, so "cold" is each of 32 distinct chains on its first sight, after 32
  // others warmed the code up.
  let i = 0;
  const cold = () => check(leaves[i++]!.der, [intermediate.der]);
  microseconds(cold, leaves.length / 2);
  const coldUs = microseconds(cold, leaves.length / 2);
  const warmUs = microseconds(() => check(leaves[0]!.der, [intermediate.der]), CHECKS);
  const baseUs = microseconds(() => baseline(leaves[i++ % leaves.length]!.der), CHECKS);
  return { coldUs, warmUs, baseUs };
}

async function handshakes(port: number, n: number): Promise<number> {
  const leaf = leaves[0]!;
  const start = Bun.nanoseconds();
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        tls: { ca: ca.certPem, cert: `${leaf.certPem}\n${intermediate.certPem}`, key: leaf.keyPem },
        socket: {
          open(socket) {
            socket.write("GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
          },
          data() {},
          close: () => resolve(),
          error: (_s, error) => reject(error),
          connectError: (_s, error) => reject(error),
        },
      });
    });
  }
  return (Bun.nanoseconds() - start) / n / 1000;
}

const RESPONSE = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

function bare() {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: {
      cert: server.certPem,
      key: server.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    socket: {
      data(socket) {
        socket.end(RESPONSE);
      },
    },
  });
}

async function agent() {
  return startAgentServer({
    host: "127.0.0.1",
    port: 0,
    certPem: server.certPem,
    keyPem: server.keyPem,
    trust: new ClientTrust({ clientCa: { source: "bench", ders: [ca.der] } }),
    handler: async () => new Response(null, { status: 204 }),
    limits: { headersTimeout: 10, idleTimeout: 10, requestTimeout: 10, maxHeaderSize: 16384 },
    logger: createMemoryLogger(),
  });
}

const check = admissionCheck(ca.der);
const inCodeRun = inCode(check);
const b = bare();
const a = await agent();
await handshakes(b.port, 50);
await handshakes(a.port, 50);
let bareUs = 0;
let agentUs = 0;
for (let round = 0; round < 4; round++) {
  bareUs += await handshakes(b.port, HANDSHAKES / 4);
  agentUs += await handshakes(a.port, HANDSHAKES / 4);
}
b.stop(true);
await a.close();
bareUs /= 4;
agentUs /= 4;
const f = (n: number) => n.toFixed(1);
console.log("in-code chain check (leaf + intermediate), µs per connection:");
console.log(`  baseline node:crypto parse+verify  ${f(inCodeRun.baseUs)}`);
console.log(
  `  surrogate, new chain (cold)         ${f(inCodeRun.coldUs)}  (${(inCodeRun.coldUs / inCodeRun.baseUs).toFixed(2)}×)`,
);
console.log(
  `  surrogate, same chain again (warm)  ${f(inCodeRun.warmUs)}  (${(inCodeRun.warmUs / inCodeRun.baseUs).toFixed(2)}×)`,
);
console.log(`mTLS handshake + one request on loopback, µs per connection (${HANDSHAKES} each, alternated):`);
console.log(`  bare Bun.listen                     ${f(bareUs)}`);
console.log(`  agent server                        ${f(agentUs)}  (${(agentUs / bareUs).toFixed(2)}×)`);

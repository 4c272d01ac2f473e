/**
 * Trust domains over real sockets. A `surrogate serve --role proxy` process with
 * `[agent.trust_domains]` (one bundle in SPIFFE JSON form, one PEM) admits each domain's SVIDs
 * under their own bundle only, refuses an unlisted trust domain with a log line naming it, and
 * follows its bundle file when it is replaced (SPIRE CA rotation) without a restart. The agent port
 * with a plain `client_ca` holding SPIRE CAs lets each CA vouch for its own trust domain only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { generateEncryptionJwk, generateSigningJwk } from "../../src/core/keys/generate.ts";
import {
  type CertificateAuthority,
  createCa,
  type IssuedCertificate,
  issueCertificate,
} from "../../src/core/pki/issue.ts";
import { startTestAgent, trustOf } from "../helpers/agent-server.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import {
  deploymentDir,
  instanceConfig,
  type SurrogateProcess,
  spawnSurrogate,
  writePki,
} from "../helpers/process.ts";
import { type SpireDomain, spireDomain } from "../helpers/spire.ts";
import { rawExchange } from "../security/harness.ts";

let pki: TestPki;
let ours: SpireDomain;
let partner: SpireDomain;
/** A partner root without a SPIFFE SAN, listed for partner.example. */
let plainPartner: CertificateAuthority;

beforeAll(async () => {
  pki = await testPki();
  ours = await spireDomain("td.test");
  partner = await spireDomain("partner.example");
  plainPartner = await createCa({ commonName: "partner plain root" });
});

const REQUEST = "GET /127.0.0.1:9/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/** The proxy's answer (401 missing_token) means the connection was admitted; 0 means refused. */
async function statusAs(port: number, cert: IssuedCertificate): Promise<number> {
  return (await rawExchange(port, pki.ca.certPem, { certPem: cert.certPem, keyPem: cert.keyPem }, REQUEST))
    .status;
}

function spiffeJson(...cas: CertificateAuthority[]): string {
  const keys = cas.map((ca) => ({
    use: "x509-svid",
    kty: "EC",
    x5c: [Buffer.from(ca.der).toString("base64")],
  }));
  return JSON.stringify({ spiffe_sequence: 1, keys });
}

describe("surrogate serve with [agent.trust_domains]", () => {
  let dir: Awaited<ReturnType<typeof deploymentDir>>;
  let proc: SurrogateProcess;

  beforeAll(async () => {
    dir = await deploymentDir();
    const files = await writePki(pki, dir.path);
    await Bun.write(dir.path("signing.jwks"), JSON.stringify({ keys: [await generateSigningJwk("ES256")] }));
    await Bun.write(dir.path("encryption.jwks"), JSON.stringify({ keys: [await generateEncryptionJwk()] }));
    await Bun.write(dir.path("td.json"), spiffeJson(ours.ca));
    await Bun.write(dir.path("partner.pem"), `${partner.ca.certPem}\n${plainPartner.certPem}`);
    const config = instanceConfig({
      issuer: "https://broker.td.test",
      pki: files,
      signing: `file:${dir.path("signing.jwks")}`,
      encryption: `file:${dir.path("encryption.jwks")}`,
      upstreams: ["127.0.0.1:9"],
      extra: `[agent.trust_domains]\n"td.test" = "file:td.json"\n"partner.example" = "file:partner.pem"\n`,
    });
    await Bun.write(dir.path("td.toml"), config);
    proc = await spawnSurrogate({ name: "td", configPath: dir.path("td.toml"), role: "proxy" });
  });

  afterAll(async () => {
    await proc.stop();
    await dir.remove();
  });

  test("each trust domain's SVIDs are admitted; certificates without SPIFFE ID under client_ca too", async () => {
    expect(await statusAs(proc.agentPort, await ours.svid("/agents/a"))).toBe(401);
    expect(await statusAs(proc.agentPort, await partner.svid("/agents/a"))).toBe(401);
    expect(await statusAs(proc.agentPort, pki.cnOnly)).toBe(401);
  });

  test("a partner CA's SVID claiming our trust domain is refused at the handshake", async () => {
    const forged = await issueCertificate(plainPartner, {
      usage: "client",
      uris: ["spiffe://td.test/agents/a"],
    });
    expect(await statusAs(proc.agentPort, forged)).toBe(0);
    const viaSpire = await issueCertificate(partner.ca, {
      usage: "client",
      uris: ["spiffe://td.test/agents/a"],
    });
    expect(await statusAs(proc.agentPort, viaSpire)).toBe(0);
  });

  test("an SVID of an unlisted trust domain is refused, and the log names the trust domain", async () => {
    // client_ca (the test CA) is trusted by TLS, but vouches for certificates without SPIFFE ID only.
    expect(await statusAs(proc.agentPort, pki.alpha)).toBe(0);
    const line = await proc.waitForLine("trust domain test.example is not listed in agent.trust_domains");
    expect(JSON.parse(line)).toMatchObject({ event: "auth.failed", reason: "certificate_invalid" });
  });

  test("the bundle file replaced while running: the new CA is honoured, the removed one refused", async () => {
    const rotated = await spireDomain("td.test");
    const before = proc.lines.filter((l) => l.includes("surrogate.trust_reloaded")).length;
    await Bun.write(dir.path("td.json"), spiffeJson(rotated.ca));
    for (let i = 0; i < 200; i++) {
      if (proc.lines.filter((l) => l.includes("surrogate.trust_reloaded")).length > before) break;
      await Bun.sleep(50);
    }
    expect(await statusAs(proc.agentPort, await rotated.svid("/agents/a"))).toBe(401);
    expect(await statusAs(proc.agentPort, await ours.svid("/agents/a"))).toBe(0);
  });
});

describe("the agent port with a plain client_ca holding SPIRE CAs", () => {
  let agent: AgentServer;

  beforeAll(async () => {
    const trust = trustOf(pki.ca.der, ours.ca.der, partner.ca.der);
    agent = await startTestAgent(pki, async () => new Response(null, { status: 401 }), { trust });
  });

  afterAll(() => agent.close());

  test("each SPIRE CA vouches for its own trust domain's SVIDs only", async () => {
    expect(await statusAs(agent.port, await ours.svid("/agents/a"))).toBe(401);
    expect(await statusAs(agent.port, await partner.svid("/agents/a"))).toBe(401);
    const forged = await issueCertificate(partner.ca, {
      usage: "client",
      uris: ["spiffe://td.test/agents/a"],
    });
    expect(await statusAs(agent.port, forged)).toBe(0);
    expect(await statusAs(agent.port, pki.alpha)).toBe(401);
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { thumbprintOf } from "../../../src/core/identity/thumbprint.ts";
import { generateKeySets } from "../../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../../src/core/keys/load.ts";
import { createCa, issueCertificate } from "../../../src/core/pki/issue.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import { ISSUER, PROVIDER } from "./roles.ts";

/** What the load generator presents: the client certificate and the trust anchor for every server. */
export interface Material {
  dir: string;
  caPem: string;
  client: { certPem: string; keyPem: string; der: Uint8Array };
  /** A real wrapper bound to the client certificate, for the surrogate target. */
  wrapper: string;
  /** What nginx injects: a static secret of the same shape as the wrapper's sealed token. */
  staticAuthorization: string;
}

const UPSTREAM_TOKEN = `gho_${"x".repeat(36)}`;

/**
 * One CA for everything (server certificate for localhost/127.0.0.1, the agent's SPIFFE client
 * certificate), fresh signing/encryption keys, and a wrapper minted for the client certificate.
 * Files land in `dir` for the child processes and nginx.
 */
export async function prepare(dir: string): Promise<Material> {
  const ca = await createCa({ commonName: "surrogate bench CA" });
  const server = await issueCertificate(ca, {
    usage: "server",
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const client = await issueCertificate(ca, {
    usage: "client",
    commonName: "bench-agent",
    uris: ["spiffe://bench.example/agents/load"],
  });
  const generated = await generateKeySets("ES256");
  const keys = await keySetsFromJwks(generated.signing, generated.encryption);
  writeFileSync(join(dir, "ca.pem"), ca.certPem);
  writeFileSync(join(dir, "server.pem"), server.certPem);
  writeFileSync(join(dir, "server.key"), server.keyPem);
  writeFileSync(join(dir, "keys.json"), JSON.stringify(generated));
  const { token } = await mintWrapper(
    {
      kind: "access",
      provider: PROVIDER,
      binding: { kind: "x5t#S256", value: thumbprintOf(client.der) },
      secret: { token: new Secret(UPSTREAM_TOKEN), type: "Bearer" },
    },
    keys,
    { issuer: ISSUER, tokenTtl: 3600, now: Date.now() },
  );
  return {
    dir,
    caPem: ca.certPem,
    client: { certPem: client.certPem, keyPem: client.keyPem, der: client.der },
    wrapper: token,
    staticAuthorization: `Bearer ${UPSTREAM_TOKEN}`,
  };
}

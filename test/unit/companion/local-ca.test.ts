import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { createServer, isIP, type Server } from "node:net";
import { connect, type SecureContext, TLSSocket } from "node:tls";
import { createLocalCa } from "../../../src/companion/local-ca.ts";

/** A TLS server presenting `context`, the way the companion does it on a CONNECTed socket. */
async function tlsServer(context: SecureContext): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
    tls.on("error", () => tls.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** One handshake with the leaf for `host`; the certificate the client saw. */
async function leafSeen(ca: Awaited<ReturnType<typeof createLocalCa>>, host: string) {
  const { server, port } = await tlsServer(await ca.contextFor(host));
  try {
    return await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, ...(isIP(host) === 0 ? { servername: host } : {}), ca: ca.certPem },
        () => {
          const raw = socket.getPeerCertificate().raw;
          socket.end();
          resolve(new X509Certificate(raw));
        },
      );
      socket.on("error", reject);
    });
  } finally {
    server.close();
  }
}

describe("the companion's in-memory CA", () => {
  test("an ECDSA P-256 CA; leaves for a DNS name verify against it for that name only", async () => {
    const ca = await createLocalCa();
    const root = new X509Certificate(ca.certPem);
    expect(root.ca).toBe(true);
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const leaf = await leafSeen(ca, "api.github.com");
    expect(leaf.checkHost("api.github.com")).toBe("api.github.com");
    expect(leaf.checkHost("evil.example")).toBeUndefined();
    expect(leaf.verify(root.publicKey)).toBe(true);
    // Short-lived: an hour, not the CA's year.
    expect(leaf.validToDate.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
  });

  test("an IPv4 host gets an IP SAN; a client checking another name fails", async () => {
    const ca = await createLocalCa();
    const leaf = await leafSeen(ca, "127.0.0.1");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    await expect(
      (async () => {
        const { server, port } = await tlsServer(await ca.contextFor("other.example"));
        try {
          await new Promise<void>((resolve, reject) => {
            const socket = connect(
              { host: "127.0.0.1", port, servername: "api.github.com", ca: ca.certPem },
              resolve,
            );
            socket.on("error", reject);
          });
        } finally {
          server.close();
        }
      })(),
    ).rejects.toThrow();
  });

  test("leaves are cached per host; another CA's clients do not trust them", async () => {
    const ca = await createLocalCa();
    const first = ca.contextFor("api.github.com");
    expect(ca.contextFor("api.github.com")).toBe(first);
    const other = await createLocalCa();
    expect(other.certPem).not.toBe(ca.certPem);
    const leaf = await leafSeen(ca, "api.github.com");
    expect(leaf.verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createCa, issueCertificate, issueSelfSigned, loadCa } from "../../../../src/core/pki/issue.ts";

describe("createCa / issueCertificate", () => {
  test("a server certificate for localhost and 127.0.0.1, signed by the CA, with a PKCS#8 P-256 key", async () => {
    const ca = await createCa({ commonName: "unit CA" });
    const server = await issueCertificate(ca, {
      usage: "server",
      commonName: "localhost",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(server.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(server.keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
    const key = createPrivateKey(server.keyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(Buffer.from(cert.raw).equals(Buffer.from(server.der))).toBe(true);
  });

  test("a client certificate carries its URI SAN, clientAuth, and the requested validity", async () => {
    const ca = await createCa({ commonName: "unit CA" });
    const notBefore = new Date("2030-01-01T00:00:00Z");
    const notAfter = new Date("2030-01-02T00:00:00Z");
    const client = await issueCertificate(ca, {
      usage: "client",
      uris: ["spiffe://t/a"],
      notBefore,
      notAfter,
    });
    const cert = new X509Certificate(client.certPem);
    expect(cert.subjectAltName).toBe("URI:spiffe://t/a");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
  });

  test("a common name cannot inject extra RDNs", async () => {
    const ca = await createCa({ commonName: "unit CA" });
    const cert = await issueCertificate(ca, { usage: "client", commonName: "a,CN=admin" });
    // One RDN whose value contains the comma (node:crypto shows it escaped).
    expect(new X509Certificate(cert.certPem).subject).toBe("CN=a\\,CN=admin");
  });

  test("an intermediate loaded with loadCa signs leaves that chain to it", async () => {
    const ca = await createCa({ commonName: "root", keyAlg: "P-384" });
    const issued = await issueCertificate(ca, { usage: "client", commonName: "int", isCa: true });
    const intermediate = await loadCa(issued.certPem, issued.keyPem);
    const leaf = await issueCertificate(intermediate, { usage: "client", commonName: "leaf" });
    const int = new X509Certificate(issued.certPem);
    expect(int.ca).toBe(true);
    expect(int.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(new X509Certificate(leaf.certPem).verify(int.publicKey)).toBe(true);
  });

  test("issueSelfSigned signs with its own key", async () => {
    const cert = await issueSelfSigned({ usage: "client", commonName: "me" });
    const parsed = new X509Certificate(cert.certPem);
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(parsed.ca).toBe(false);
  });

  test("keyPem certifies an existing key (a renewal keeping the key pair); keyAlg picks a new key's type", async () => {
    const ca = await createCa({ commonName: "unit CA" });
    const first = await issueCertificate(ca, { usage: "client", commonName: "renewed" });
    const renewed = await issueCertificate(ca, {
      usage: "client",
      commonName: "renewed",
      keyPem: first.keyPem,
    });
    const other = await issueCertificate(ca, { usage: "client", commonName: "renewed" });
    const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ format: "der", type: "spki" });
    expect(Buffer.from(renewed.der).equals(Buffer.from(first.der))).toBe(false);
    expect(spki(renewed.certPem).equals(spki(first.certPem))).toBe(true);
    expect(spki(other.certPem).equals(spki(first.certPem))).toBe(false);
    expect(new X509Certificate(renewed.certPem).checkPrivateKey(createPrivateKey(first.keyPem))).toBe(true);
    const ed = await issueCertificate(ca, { usage: "client", commonName: "ed", keyAlg: "Ed25519" });
    expect(new X509Certificate(ed.certPem).publicKey.asymmetricKeyType).toBe("ed25519");
    const edRenewed = await issueCertificate(ca, { usage: "client", commonName: "ed", keyPem: ed.keyPem });
    expect(spki(edRenewed.certPem).equals(spki(ed.certPem))).toBe(true);
    expect(new X509Certificate(edRenewed.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(
      true,
    );
  });
});

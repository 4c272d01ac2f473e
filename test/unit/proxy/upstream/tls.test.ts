/**
 * TLS to upstreams (./connection.ts, as the relay opens its connections): verified against the
 * configured trust (system store plus `upstream_ca`), the name or IP checked, SNI as fetch sends it;
 * nothing is written before verification passed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { type IssuedCertificate, issueCertificate } from "../../../../src/core/pki/issue.ts";
import { UpstreamConnectError } from "../../../../src/proxy/upstream/errors.ts";
import { type TestPki, testPki } from "../../../helpers/pki.ts";
import { ok, type RawServer, requestOnce, startRawServer } from "./harness.ts";

const DAY = 86_400_000;
let pki: TestPki;
/** The trust the proxy is configured with in these tests: the test CA (upstream_ca). */
let ca: string[];
const servers: RawServer[] = [];
let wrongName: IssuedCertificate;
let dnsOnly: IssuedCertificate;
let expired: IssuedCertificate;
let ipv6: IssuedCertificate;

beforeAll(async () => {
  pki = await testPki();
  ca = [pki.ca.certPem];
  const server = (options: Parameters<typeof issueCertificate>[1]) => issueCertificate(pki.ca, options);
  wrongName = await server({ usage: "server", commonName: "other.example", dnsNames: ["other.example"] });
  dnsOnly = await server({ usage: "server", commonName: "localhost", dnsNames: ["localhost"] });
  ipv6 = await server({ usage: "server", commonName: "v6", ipAddresses: ["::1"] });
  expired = await server({
    usage: "server",
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    notBefore: new Date(Date.now() - 2 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
});

afterAll(() => {
  for (const server of servers) server.stop();
});

function serve(certificate: { certPem: string; keyPem: string }): RawServer {
  const server = startRawServer(ok, certificate);
  servers.push(server);
  return server;
}

describe("certificates that are accepted", () => {
  test("an IP literal: the certificate's IP SAN must match it", async () => {
    const server = serve(pki.server);
    expect(await requestOnce(`https://127.0.0.1:${server.port}/ip`, ca)).toBe(200);
    expect(server.requests[0]?.fields[0]).toEqual(["host", `127.0.0.1:${server.port}`]);
  });

  test("a DNS name: verified against the name", async () => {
    const server = serve(dnsOnly);
    expect(await requestOnce(`https://localhost:${server.port}/dns`, ca)).toBe(200);
  });

  test("a bracketed IPv6 literal", async () => {
    const listener = Bun.listen({
      hostname: "::1",
      port: 0,
      tls: { cert: ipv6.certPem, key: ipv6.keyPem },
      socket: { data: (socket) => void socket.write("HTTP/1.1 204 No Content\r\n\r\n") },
    });
    try {
      expect(await requestOnce(`https://[::1]:${listener.port}/v6`, ca)).toBe(204);
    } finally {
      listener.stop(true);
    }
  });
});

describe("server name indication", () => {
  let sni: TlsServer;
  let port = 0;
  const seen: Array<string | false | null> = [];
  beforeAll(async () => {
    sni = createTlsServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (socket) => {
      seen.push(socket.servername);
      socket.on("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => sni.listen(0, "127.0.0.1", resolve));
    const address = sni.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
  });
  afterAll(() => void sni.close());

  test("SNI is the DNS name; an IP literal sends none (RFC 6066 §3)", async () => {
    await requestOnce(`https://localhost:${port}/`, ca);
    await requestOnce(`https://127.0.0.1:${port}/`, ca);
    expect(seen).toEqual(["localhost", false]);
  });
});

describe("certificates that are refused (no request byte is ever written)", () => {
  const cases: Array<[string, () => { certPem: string; keyPem: string }, string]> = [
    ["a certificate for another name", () => wrongName, "127.0.0.1"],
    ["a certificate for another name, reached by DNS name", () => wrongName, "localhost"],
    ["a DNS-only certificate reached by IP", () => dnsOnly, "127.0.0.1"],
    ["a certificate from an untrusted CA", () => pki.otherServer, "127.0.0.1"],
    ["a self-signed certificate", () => pki.bad.selfSigned, "127.0.0.1"],
    ["an expired certificate", () => expired, "127.0.0.1"],
  ];
  for (const [name, certificate, host] of cases) {
    test(name, async () => {
      const server = serve(certificate());
      await expect(requestOnce(`https://${host}:${server.port}/x`, ca)).rejects.toBeInstanceOf(
        UpstreamConnectError,
      );
      expect(server.requests).toEqual([]);
    });
  }

  test("Bun's default store (no ca given) does not trust the test CA", async () => {
    const server = serve(pki.server);
    await expect(requestOnce(`https://127.0.0.1:${server.port}/`)).rejects.toBeInstanceOf(
      UpstreamConnectError,
    );
    expect(server.requests).toEqual([]);
  });
});

describe("connections that cannot be made", () => {
  test("an https URL to a plain-TCP server: the handshake fails", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.write("HTTP/1.1 400 Bad Request\r\n\r\n") },
    });
    await expect(requestOnce(`https://127.0.0.1:${listener.port}/`, ca)).rejects.toBeInstanceOf(
      UpstreamConnectError,
    );
    listener.stop(true);
  });

  test("a server that accepts and closes during the handshake", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (s) => void s.end(),
        data() {},
      },
    });
    await expect(requestOnce(`https://127.0.0.1:${listener.port}/`, ca)).rejects.toBeInstanceOf(
      UpstreamConnectError,
    );
    listener.stop(true);
  });

  test("a closed port", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    await expect(requestOnce(`http://127.0.0.1:${port}/`, ca)).rejects.toBeInstanceOf(UpstreamConnectError);
  });

  test("a name that does not resolve", async () => {
    await expect(requestOnce("https://nonexistent.invalid/", ca)).rejects.toBeInstanceOf(
      UpstreamConnectError,
    );
  });
});

/**
 * Signals on a real `surrogate serve` process:
 * - SIGHUP swaps the agent port's server certificate, client CA bundle and the key sets: a new
 *   connection sees the new certificate and may use a client certificate from the new bundle,
 *   wrappers under the new key verify, and a keep-alive connection established before keeps working;
 * - SIGHUP re-reads `[[policy]]`: a workload removed from it is refused (403 access_denied) with a
 *   wrapper it already holds, one already in the verification cache included; a bad file keeps it;
 * - SIGTERM with a request in flight to a slow upstream: new connections are refused, the request
 *   completes, and the process exits 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type TLSSocket } from "node:tls";
import type { JWK } from "jose";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import { generateEncryptionJwk, generateSigningJwk } from "../../src/core/keys/generate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import {
  deploymentDir,
  instanceConfig,
  type SurrogateProcess,
  spawnSurrogate,
  writePki,
} from "../helpers/process.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const ISSUER = "https://broker.reload.test";

let pki: TestPki;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let files: Awaited<ReturnType<typeof writePki>>;
let upstream: Upstream;
let k1: { signing: JWK; encryption: JWK };
let k2: { signing: JWK; encryption: JWK };
/** Requests to /slow wait for this to be called. */
let release: () => void = () => {};

async function writeKeys(...pairs: Array<{ signing: JWK; encryption: JWK }>) {
  await Bun.write(dir.path("signing.jwks"), JSON.stringify({ keys: pairs.map((p) => p.signing) }));
  await Bun.write(dir.path("encryption.jwks"), JSON.stringify({ keys: pairs.map((p) => p.encryption) }));
}

async function wrapper(pair: { signing: JWK; encryption: JWK }, cert: IssuedCertificate): Promise<string> {
  const keys = await keySetsFromJwks({ keys: [pair.signing] }, { keys: [pair.encryption] });
  const request = {
    kind: "access" as const,
    provider: "stub",
    binding: { kind: "x5t#S256" as const, value: thumbprintOf(cert.der) },
  };
  const secret = { token: new Secret("real-static-token"), type: "Bearer" };
  return (await mintWrapper({ ...request, secret }, keys, { issuer: ISSUER, tokenTtl: 600, now: Date.now() }))
    .token;
}

async function spawn(name: string): Promise<SurrogateProcess> {
  await writeKeys(k1);
  await Bun.write(files.cert, pki.server.certPem);
  await Bun.write(files.key, pki.server.keyPem);
  await Bun.write(files.ca, pki.ca.certPem);
  const config = instanceConfig({
    issuer: ISSUER,
    pki: { ...files, ca: files.ca },
    signing: `file:${dir.path("signing.jwks")}`,
    encryption: `file:${dir.path("encryption.jwks")}`,
    upstreams: [`127.0.0.1:${upstream.port}`],
  });
  // The upstream's certificate is from the first CA; the client bundle file changes on reload.
  await Bun.write(dir.path("upstream-ca.pem"), pki.ca.certPem);
  const text = config.replace(
    /upstream_ca = .*/,
    `upstream_ca = ${JSON.stringify(dir.path("upstream-ca.pem"))}`,
  );
  await Bun.write(dir.path(`${name}.toml`), text);
  return spawnSurrogate({ name, configPath: dir.path(`${name}.toml`), role: "proxy" });
}

/** One TLS connection speaking HTTP/1.1 keep-alive by hand, so the test knows it is the same socket. */
class Connection {
  readonly socket: TLSSocket;
  #buffer = "";
  #waiter: (() => void) | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#waiter?.();
    });
  }

  static open(port: number, cert: IssuedCertificate, ca: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        cert: cert.certPem,
        key: cert.keyPem,
        ca,
      });
      socket.once("secureConnect", () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** Offset just past the first complete response in the buffer, if there is one. */
  #complete(): number | undefined {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const head = this.#buffer.slice(0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length !== undefined) {
      const total = end + 4 + Number(length);
      return this.#buffer.length >= total ? total : undefined;
    }
    const last = this.#buffer.indexOf("0\r\n\r\n", end + 4);
    return last < 0 ? undefined : last + 5;
  }

  peerDer(): Uint8Array {
    return new Uint8Array(this.socket.getPeerCertificate().raw);
  }

  /** Sends a GET and resolves with the status once the whole response arrived (length or chunked). */
  async get(path: string, token: string): Promise<number> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${token}\r\n\r\n`);
    for (;;) {
      const rest = this.#complete();
      if (rest !== undefined) {
        const status = Number(this.#buffer.slice(9, 12));
        this.#buffer = this.#buffer.slice(rest);
        return status;
      }
      if (this.socket.destroyed) throw new Error("connection closed before the response was complete");
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }
}

beforeAll(async () => {
  [pki, dir] = await Promise.all([testPki(), deploymentDir()]);
  files = await writePki(pki, dir.path);
  upstream = await startUpstream({
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    handler: async (request) => {
      if (new URL(request.url).pathname === "/slow")
        await new Promise<void>((resolve) => (release = resolve));
      return Response.json({ ok: true });
    },
  });
  k1 = { signing: await generateSigningJwk(), encryption: generateEncryptionJwk() };
  k2 = { signing: await generateSigningJwk(), encryption: generateEncryptionJwk() };
});

afterAll(async () => {
  release();
  await upstream?.stop();
  await dir?.remove();
});

const path = (p: string) => `/127.0.0.1:${upstream.port}${p}`;

describe("SIGHUP", () => {
  test("swaps certificate, client CA bundle and keys; an established keep-alive connection keeps working", async () => {
    const instance = await spawn("hup");
    try {
      const fromK1 = await wrapper(k1, pki.alpha);
      const fromK2 = await wrapper(k2, pki.alpha);
      const outsider = pki.bad.otherCa;
      const before = await Connection.open(instance.agentPort, pki.alpha, pki.ca.certPem);
      expect(Buffer.from(before.peerDer()).equals(Buffer.from(pki.server.der))).toBe(true);
      expect(await before.get(path("/a"), fromK1)).toBe(200);
      expect(await before.get(path("/b"), fromK2)).toBe(401);
      await expect(Connection.open(instance.agentPort, outsider, pki.otherCa.certPem)).rejects.toThrow();

      await Bun.write(files.cert, pki.otherServer.certPem);
      await Bun.write(files.key, pki.otherServer.keyPem);
      await Bun.write(files.ca, `${pki.ca.certPem}\n${pki.otherCa.certPem}`);
      await writeKeys(k2, k1);
      instance.signal("SIGHUP");
      await instance.waitForLine("surrogate.reloaded");

      // The connection from before the reload: same socket, still served, with the new keys.
      expect(await before.get(path("/c"), fromK1)).toBe(200);
      expect(await before.get(path("/d"), fromK2)).toBe(200);
      expect(before.socket.destroyed).toBe(false);

      const after = await Connection.open(instance.agentPort, pki.alpha, pki.otherCa.certPem);
      expect(Buffer.from(after.peerDer()).equals(Buffer.from(pki.otherServer.der))).toBe(true);
      expect(await after.get(path("/e"), fromK2)).toBe(200);
      const fromOutsider = await Connection.open(instance.agentPort, outsider, pki.otherCa.certPem);
      expect(await fromOutsider.get(path("/f"), await wrapper(k2, outsider))).toBe(200);
      for (const c of [before, after, fromOutsider]) c.socket.destroy();
    } finally {
      await instance.stop();
    }
  });

  test("an unusable file on reload keeps the old material and logs why", async () => {
    const instance = await spawn("bad-hup");
    try {
      await Bun.write(dir.path("signing.jwks"), "{ not json");
      instance.signal("SIGHUP");
      await instance.waitForLine("surrogate.reload_failed");
      const connection = await Connection.open(instance.agentPort, pki.alpha, pki.ca.certPem);
      expect(await connection.get(path("/a"), await wrapper(k1, pki.alpha))).toBe(200);
      connection.socket.destroy();
    } finally {
      await instance.stop();
    }
  });
});

describe("SIGHUP and [[policy]]", () => {
  test("a workload removed from [[policy]] is refused at once with the wrapper it holds; others keep working", async () => {
    const instance = await spawn("policy-hup");
    const configPath = dir.path("policy-hup.toml");
    try {
      const alpha = await Connection.open(instance.agentPort, pki.alpha, pki.ca.certPem);
      const beta = await Connection.open(instance.agentPort, pki.beta, pki.ca.certPem);
      const alphaWrapper = await wrapper(k1, pki.alpha);
      const betaWrapper = await wrapper(k1, pki.beta);
      expect(await alpha.get(path("/a"), alphaWrapper)).toBe(200);
      expect(await beta.get(path("/a"), betaWrapper)).toBe(200);

      // An edit that does not parse: the reload fails and the policy in force stays.
      const original = await Bun.file(configPath).text();
      await Bun.write(configPath, original.replace('workload = "spiffe://test.example/**"', "workload = 7"));
      instance.signal("SIGHUP");
      await instance.waitForLine("surrogate.reload_failed");
      expect(await alpha.get(path("/b"), alphaWrapper)).toBe(200);

      const narrowed = original.replace('"spiffe://test.example/**"', '"spiffe://test.example/agents/beta"');
      await Bun.write(configPath, narrowed);
      instance.signal("SIGHUP");
      await instance.waitForLine("surrogate.reloaded");
      // Same wrapper, same keep-alive connection (a verification-cache hit): now refused.
      expect(await alpha.get(path("/c"), alphaWrapper)).toBe(403);
      expect(await beta.get(path("/c"), betaWrapper)).toBe(200);
      for (const c of [alpha, beta]) c.socket.destroy();
    } finally {
      await instance.stop();
    }
  });
});

describe("SIGTERM", () => {
  test("in-flight request completes, new connections are refused, exit code 0", async () => {
    const instance = await spawn("term");
    const connection = await Connection.open(instance.agentPort, pki.alpha, pki.ca.certPem);
    const seen = upstream.requests.length;
    const inFlight = connection.get(path("/slow"), await wrapper(k1, pki.alpha));
    while (upstream.requests.length === seen) await Bun.sleep(10);

    instance.signal("SIGTERM");
    await instance.waitForLine("surrogate.stopping");
    let refused = false;
    for (let attempt = 0; attempt < 100 && !refused; attempt += 1) {
      refused = await Connection.open(instance.agentPort, pki.alpha, pki.ca.certPem).then(
        (accepted) => {
          accepted.socket.destroy();
          return false;
        },
        (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED",
      );
      if (!refused) await Bun.sleep(20);
    }
    expect(refused).toBe(true);

    release();
    expect(await inFlight).toBe(200);
    expect(await instance.exited).toBe(0);
  });
});

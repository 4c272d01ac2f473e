/**
 * Client-certificate attacks over the REAL agent server (node:tls → node:http with the in-code
 * chain check) in front of the real proxy handler. A refused certificate never reaches the handler
 * (counted), nothing reaches an upstream, and no log line carries the real token. Every case runs
 * on both paths (harness.ts MODES) with alpha's wrapper already cached (`warmed`): in relay mode a
 * cached wrapper over another certificate must still be refused, and a good request served as bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentServer } from "../../src/agent-port/server.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { BAD_SPIFFE_IDS } from "../helpers/pki.ts";
import { badHandshakeFlood, rawClient } from "./flood.ts";
import { type Forge, forge } from "./forgery.ts";
import {
  expectNoLeak,
  expectNoUpstreamContact,
  MODES,
  type Mode,
  pathSince,
  type RawClient,
  type Rig,
  rawBody,
  rawCode,
  rawExchange,
  refused,
  served,
  snapshot,
  startAgent,
  startRig,
  warm,
  wrapperFor,
} from "./harness.ts";

const client = rawClient;

for (const mode of MODES) describe(`${mode} path`, () => suite(mode));

function suite(mode: Mode): void {
  let rig: Rig;
  let agent: AgentServer;
  let f: Forge;
  /** alpha's wrapper, verified and cached before any case runs. */
  let warmed: string;

  beforeAll(async () => {
    rig = await startRig(mode);
    agent = await startAgent(rig);
    f = forge(rig);
    warmed = await wrapperFor(rig, rig.pki.alpha);
    await warm(rig, warmed);
  });

  afterAll(async () => {
    await agent.close();
    await rig.stop();
  });

  function request(token: string, extra = ""): string {
    const target = `/127.0.0.1:${rig.upstream.port}/user`;
    return `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${extra}Connection: close\r\n\r\n`;
  }

  /** Sends a proxied request as `who`; the handler count and upstream counters must not move. */
  async function expectConnectionRefused(who: RawClient, token: string): Promise<void> {
    const before = snapshot(rig);
    const calls = rig.calls();
    const result = await rawExchange(agent.port, rig.pki.ca.certPem, who, request(token));
    expect({ status: result.status, raw: result.raw, calls: rig.calls() }).toEqual({
      status: 0,
      raw: "",
      calls,
    });
    expectNoUpstreamContact(rig, before);
    expectNoLeak(rig, [], [token]);
  }

  describe("certificates that must not establish an identity", () => {
    const bad = () => rig.pki.bad;
    const cases: Array<[string, () => RawClient]> = [
      ["no client certificate", () => ({})],
      ["issued by another CA", () => client(bad().otherCa)],
      ["self-signed", () => client(bad().selfSigned)],
      ["expired", () => client(bad().expired)],
      ["not yet valid", () => client(bad().notYetValid)],
      ["EKU serverAuth only", () => client(bad().wrongEku)],
      ["a CA:TRUE leaf", () => client(bad().caLeaf)],
      ["leaf without its intermediate", () => client(bad().missingIntermediate)],
      ["leaf under an untrusted (rogue) intermediate", () => client(bad().rogueIntermediate)],
      ["two URI SANs", () => client(bad().twoUris)],
      ...Object.entries(BAD_SPIFFE_IDS).map(([name, id]): [string, () => RawClient] => [
        `SPIFFE ID ${name}: ${JSON.stringify(id)}`,
        () => client(bad().badSpiffe[name] as IssuedCertificate),
      ]),
    ];
    for (const [name, who] of cases) {
      test(name, async () => {
        await expectConnectionRefused(who(), warmed);
      });
    }
  });

  describe("identity and binding once the certificate is good", () => {
    test("control: alpha's wrapper over alpha's certificate reaches the upstream", async () => {
      const before = rig.upstream.requests.length;
      const path = { ...rig.path };
      const result = await rawExchange(
        agent.port,
        rig.pki.ca.certPem,
        client(rig.pki.alpha),
        request(warmed),
      );
      expect(result.status).toBe(200);
      expect(pathSince(rig, path)).toBe(served(rig));
      expect(rig.upstream.requests.length).toBe(before + 1);
    });

    test("control: a leaf presented with its intermediate is accepted", async () => {
      const cert = rig.pki.viaIntermediate;
      const token = await wrapperFor(rig, cert);
      const result = await rawExchange(agent.port, rig.pki.ca.certPem, client(cert), request(token));
      expect(result.status).toBe(200);
    });

    const refusals: Array<
      [string, () => Promise<string>, IssuedCertificate | (() => IssuedCertificate), string]
    > = [
      [
        "valid certificate, wrapper bound to another thumbprint",
        async () => warmed,
        () => rig.pki.beta,
        "binding_mismatch",
      ],
      [
        "CN-only certificate, wrapper bound to alpha",
        async () => warmed,
        () => rig.pki.cnOnly,
        "binding_mismatch",
      ],
      [
        "intermediate-issued certificate, wrapper bound to alpha",
        async () => warmed,
        () => rig.pki.viaIntermediate,
        "binding_mismatch",
      ],
      [
        "wrapper without cnf",
        async () => f.signed(f.header(), { ...(await f.payload()), cnf: undefined }),
        () => rig.pki.alpha,
        "invalid_token",
      ],
      [
        "cnf with x5t (SHA-1) instead of x5t#S256",
        async () => f.signed(f.header(), await f.payload({ cnf: { x5t: "A".repeat(27) } })),
        () => rig.pki.alpha,
        "invalid_token",
      ],
      [
        "cnf.x5t#S256 with the hex fingerprint",
        async () => f.signed(f.header(), await f.payload({ cnf: { "x5t#S256": "AA".repeat(32) } })),
        () => rig.pki.alpha,
        "invalid_token",
      ],
      [
        "cnf.x5t#S256 with padding",
        async () => f.signed(f.header(), await f.payload({ cnf: { "x5t#S256": `${"A".repeat(43)}=` } })),
        () => rig.pki.alpha,
        "invalid_token",
      ],
      [
        "cnf a string",
        async () => f.signed(f.header(), await f.payload({ cnf: "x5t#S256" })),
        () => rig.pki.alpha,
        "invalid_token",
      ],
    ];
    for (const [name, build, who, code] of refusals) {
      test(`${name} → 401 ${code}`, async () => {
        const token = await build();
        const cert = typeof who === "function" ? who() : who;
        const before = snapshot(rig);
        const path = { ...rig.path };
        const result = await rawExchange(agent.port, rig.pki.ca.certPem, client(cert), request(token));
        expect({ status: result.status, code: rawCode(result.raw) }).toEqual({ status: 401, code });
        expect(pathSince(rig, path)).toBe(refused(rig));
        expectNoUpstreamContact(rig, before);
        expectNoLeak(rig, [result.raw], [token]);
      });
    }

    test("X-Forwarded-Client-Cert from the client neither changes the identity nor reaches the upstream", async () => {
      const beta = encodeURIComponent(rig.pki.beta.certPem);
      const forged = `X-Forwarded-Client-Cert: By=spiffe://test.example/proxy;URI=spiffe://test.example/agents/beta;Cert="${beta}"\r\nX-SSL-Client-Cert: ${beta}\r\nX-Client-Cert: ${beta}\r\n`;
      // beta's wrapper, alpha's connection, headers claiming beta: the binding follows the TLS peer.
      const stolen = await wrapperFor(rig, rig.pki.beta);
      const denied = await rawExchange(
        agent.port,
        rig.pki.ca.certPem,
        client(rig.pki.alpha),
        request(stolen, forged),
      );
      expect({ status: denied.status, code: rawCode(denied.raw) }).toEqual({
        status: 401,
        code: "binding_mismatch",
      });
      const before = rig.upstream.requests.length;
      const path = { ...rig.path };
      const ok = await rawExchange(
        agent.port,
        rig.pki.ca.certPem,
        client(rig.pki.alpha),
        request(warmed, forged),
      );
      expect(ok.status).toBe(200);
      expect(pathSince(rig, path)).toBe(served(rig));
      const seen = rig.upstream.requests[before]?.headers;
      expect([...(seen?.keys() ?? [])].filter((n) => /client-cert|ssl-client/.test(n))).toEqual([]);
      const access = rig.logger.lines.filter((l) => l.includes('"kind":"access"')).at(-1) ?? "";
      expect(JSON.parse(access).workload).toBe("spiffe://test.example/agents/alpha");
      expect(rawBody(ok.raw)).not.toContain("agents/beta");
    });
  });

  describe("protocol versions", () => {
    test("TLS 1.0 and 1.1 are refused at the handshake; 1.2 and 1.3 are served", async () => {
      const token = warmed;
      for (const version of ["TLSv1", "TLSv1.1"] as const) {
        const result = await rawExchange(
          agent.port,
          rig.pki.ca.certPem,
          { ...client(rig.pki.alpha), version },
          request(token),
        );
        expect({ version, ...result }).toEqual({ version, handshake: false, raw: "", status: 0 });
      }
      let took = rig.path.took;
      for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
        const result = await rawExchange(
          agent.port,
          rig.pki.ca.certPem,
          { ...client(rig.pki.alpha), version },
          request(token),
        );
        expect({ version, status: result.status }).toEqual({ version, status: 200 });
        expect(rig.path.took).toBe(rig.mode === "relay" ? took + 1 : 0);
        took = rig.path.took;
      }
    });
  });

  describe("handshake flood", () => {
    // Every kind of bad certificate several times over; 10,000 of them run in `bun run soak`.
    test("500 bad-certificate handshakes, 50 at a time, mixed kinds: none reaches the handler", async () => {
      const bytes = request(warmed);
      const before = snapshot(rig);
      const calls = rig.calls();
      const answered = await badHandshakeFlood(rig, agent, bytes, { total: 500, concurrency: 50 });
      expect({ answered, calls: rig.calls() - calls }).toEqual({ answered: 0, calls: 0 });
      expectNoUpstreamContact(rig, before);
      // The server still serves a good client afterwards.
      const path = { ...rig.path };
      const ok = await rawExchange(agent.port, rig.pki.ca.certPem, client(rig.pki.alpha), bytes);
      expect(ok.status).toBe(200);
      expect(pathSince(rig, path)).toBe(served(rig));
    });
  });
}

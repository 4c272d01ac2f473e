import { beforeAll, describe, expect, test } from "bun:test";
import { ConfigError, SurrogateError } from "../../../../src/core/errors.ts";
import { parseBundle } from "../../../../src/core/identity/bundle.ts";
import { describeCertificate } from "../../../../src/core/identity/certificate.ts";
import { type Bundle, ClientTrust } from "../../../../src/core/identity/trust.ts";
import { createCa, issueCertificate } from "../../../../src/core/pki/issue.ts";
import { testPki } from "../../../helpers/pki.ts";
import { type SpireDomain, spireDomain } from "../../../helpers/spire.ts";

let ours: SpireDomain;
let partner: SpireDomain;

beforeAll(async () => {
  ours = await spireDomain("td.test");
  partner = await spireDomain("partner.example");
});

const bundle = (...ders: Uint8Array[]): Bundle => ({ source: "test bundle", ders });

function outcome(trust: ClientTrust, der: Uint8Array, now = new Date()): string {
  try {
    return `admitted ${trust.admit(der, [], now).workload}`;
  } catch (error) {
    if (error instanceof SurrogateError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

describe("[agent.trust_domains]: an SVID is checked against its own trust domain's bundle", () => {
  const domains = () =>
    new ClientTrust({
      trustDomains: new Map([
        ["td.test", bundle(ours.ca.der)],
        ["partner.example", bundle(partner.ca.der)],
      ]),
    });

  test("each domain's SVIDs pass under their own bundle", async () => {
    const trust = domains();
    expect(outcome(trust, (await ours.svid("/agents/a")).der)).toBe("admitted spiffe://td.test/agents/a");
    expect(outcome(trust, (await partner.svid("/x")).der)).toBe("admitted spiffe://partner.example/x");
  });

  test("a partner CA issuing an ID of our trust domain is refused", async () => {
    const { ca } = await testPki();
    // A partner root without a SPIFFE SAN, listed for partner.example, claiming td.test.
    const plainPartner = await createCa({ commonName: "partner root" });
    const trust = new ClientTrust({
      trustDomains: new Map([
        ["td.test", bundle(ours.ca.der)],
        ["partner.example", bundle(plainPartner.der, ca.der)],
      ]),
    });
    const forged = await issueCertificate(plainPartner, {
      usage: "client",
      uris: ["spiffe://td.test/agents/a"],
    });
    expect(outcome(trust, forged.der)).toMatch(/^certificate_invalid: .*no issuer in the trust bundle/);
  });

  test("an SVID of an unlisted trust domain is refused, naming the trust domain", async () => {
    const other = await spireDomain("elsewhere.test");
    const trust = new ClientTrust({
      clientCa: bundle(other.ca.der),
      trustDomains: new Map([["td.test", bundle(ours.ca.der)]]),
    });
    expect(outcome(trust, (await other.svid("/a")).der)).toBe(
      "certificate_invalid: client certificate rejected: trust domain elsewhere.test is not listed in agent.trust_domains",
    );
  });

  test("certificates without a SPIFFE ID need client_ca, which then vouches for them only", async () => {
    const { ca, cnOnly, alpha } = await testPki();
    expect(outcome(domains(), cnOnly.der)).toMatch(/without a SPIFFE ID needs agent.client_ca/);
    const withCa = new ClientTrust({
      clientCa: bundle(ca.der),
      trustDomains: new Map([["td.test", bundle(ours.ca.der)]]),
    });
    expect(outcome(withCa, cnOnly.der)).toBe("admitted legacy-agent");
    // alpha is spiffe://test.example/…: client_ca does not vouch for SVIDs once domains are set.
    expect(outcome(withCa, alpha.der)).toMatch(/trust domain test.example is not listed/);
  });

  test("a bundle holding another trust domain's SPIRE CA is a configuration error", () => {
    expect(() => new ClientTrust({ trustDomains: new Map([["td.test", bundle(partner.ca.der)]]) })).toThrow(
      "test bundle: certificate 1 is a CA of trust domain partner.example",
    );
  });

  test("neither client_ca nor trust domains is a configuration error", () => {
    expect(() => new ClientTrust({})).toThrow(ConfigError);
  });
});

describe("plain client_ca: a CA carrying a spiffe:// URI SAN vouches for its own trust domain only", () => {
  test("the partner's SPIRE CA cannot issue our IDs, nor CN-only certificates; its own IDs pass", async () => {
    const { ca } = await testPki();
    const trust = new ClientTrust({ clientCa: bundle(ca.der, ours.ca.der, partner.ca.der) });
    expect(outcome(trust, (await ours.svid("/agents/a")).der)).toBe("admitted spiffe://td.test/agents/a");
    expect(outcome(trust, (await partner.svid("/agents/a")).der)).toBe(
      "admitted spiffe://partner.example/agents/a",
    );
    const forged = await issueCertificate(partner.ca, {
      usage: "client",
      uris: ["spiffe://td.test/agents/a"],
    });
    expect(outcome(trust, forged.der)).toMatch(/speaks for trust domain partner.example only/);
    const cnOnly = await issueCertificate(partner.ca, { usage: "client", commonName: "legacy" });
    expect(outcome(trust, cnOnly.der)).toMatch(/speaks for trust domain partner.example only/);
  });

  test("without SPIFFE SANs on the CA, client_ca keeps vouching for any ID (as before)", async () => {
    const { ca, alpha, cnOnly } = await testPki();
    const trust = new ClientTrust({ clientCa: bundle(ca.der) });
    expect(outcome(trust, alpha.der)).toBe("admitted spiffe://test.example/agents/alpha");
    expect(outcome(trust, cnOnly.der)).toBe("admitted legacy-agent");
  });
});

describe("admission results are remembered by the chain, never past its validity", () => {
  test("the same chain is admitted again; after notAfter it is refused", async () => {
    const svid = await ours.svid("/agents/a", { lifetimeMs: 5_000 });
    const trust = new ClientTrust({ trustDomains: new Map([["td.test", bundle(ours.ca.der)]]) });
    const first = trust.admit(svid.der, [], new Date());
    expect(trust.admit(svid.der, [], new Date())).toBe(first);
    expect(outcome(trust, svid.der, new Date(Date.now() + 10_000))).toMatch(/client certificate has expired/);
  });
});

describe("subjectAltName comes from the DER, not from node's comma-joined text", () => {
  test("a URI containing ', URI:spiffe://…' is one non-SPIFFE URI, not a second name", async () => {
    const { ca } = await testPki();
    const cert = await issueCertificate(ca, {
      usage: "client",
      commonName: "smuggler",
      uris: ["https://example.test/a, URI:spiffe://td.test/agents/admin"],
    });
    const identity = describeCertificate(cert.der);
    expect(identity.spiffeId).toBeUndefined();
    expect(identity.workload).toBe("smuggler");
  });
});

describe("parseBundle: PEM or a SPIFFE bundle (JWK Set)", () => {
  const b64 = (der: Uint8Array) => Buffer.from(der).toString("base64");

  test("SPIFFE JSON: x509-svid keys give their CA certificate, jwt-svid keys are skipped", () => {
    const json = JSON.stringify({
      spiffe_sequence: 3,
      spiffe_refresh_hint: 300,
      keys: [
        { use: "x509-svid", kty: "EC", crv: "P-256", x: "x", y: "y", x5c: [b64(ours.ca.der)] },
        { use: "jwt-svid", kty: "EC", kid: "k", crv: "P-256", x: "x", y: "y" },
      ],
    });
    expect(parseBundle(json, "b").map(b64)).toEqual([b64(ours.ca.der)]);
  });

  test("PEM with several certificates", () => {
    expect(parseBundle(`${ours.ca.certPem}\n${partner.ca.certPem}`, "b")).toHaveLength(2);
  });

  test.each([
    ["no certificate", "hello"],
    ["no keys", "{}"],
    ["x5c with a chain", JSON.stringify({ keys: [{ use: "x509-svid", x5c: ["AAAA", "AAAA"] }] })],
    ["x5c not base64", JSON.stringify({ keys: [{ use: "x509-svid", x5c: ["!!"] }] })],
    ["duplicate members", '{"keys": [], "keys": []}'],
    ["only jwt-svid keys", JSON.stringify({ keys: [{ use: "jwt-svid" }] })],
  ])("refused: %s", (_name, text) => {
    expect(() => parseBundle(text, "agent.trust_domains.td (x.json)")).toThrow(
      "agent.trust_domains.td (x.json)",
    );
  });
});

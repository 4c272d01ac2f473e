import { ConfigError, IdentityError, SurrogateError } from "../errors.ts";
import { pemOf } from "./bundle.ts";
import { identityOf } from "./certificate.ts";
import { MAX_PRESENTED, verifyPath } from "./chain.ts";
import { type ParsedCertificate, parseCertificate } from "./parse.ts";
import { caTrustDomain, trustDomainOf } from "./spiffe.ts";
import { thumbprintOf } from "./thumbprint.ts";
import type { ClientIdentity } from "./types.ts";

/** CA certificates (DER) read from one configured file; `source` names the setting and the file. */
export interface Bundle {
  source: string;
  ders: readonly Uint8Array[];
}

export interface TrustSources {
  /** `agent.client_ca`: vouches for certificates without a SPIFFE ID, and for SVIDs when no trust domains are set. */
  clientCa?: Bundle;
  /** `[agent.trust_domains]`: an SVID is verified against its own trust domain's bundle only. */
  trustDomains?: ReadonlyMap<string, Bundle>;
}

/** Distinct client chains remembered; a connection storm of new chains only evicts the oldest. */
const MAX_CACHED_CHAINS = 4096;

interface Admitted {
  identity: ClientIdentity;
  /** Epoch ms within which every certificate of the verified path is valid. */
  from: number;
  until: number;
}

/**
 * Who may connect to the agent port: the configured bundles, parsed once per (re)load, and the
 * check every accepted TLS connection goes through (`admit`). X509-SVID §5.2: an SVID is validated
 * with the bundle of its own trust domain, so a federated partner's CA cannot vouch for our IDs.
 * Results are kept by the chain's thumbprints: a workload reconnecting with the same SVID costs two
 * digests and a lookup instead of a parse and two signature checks (docs/benchmarks.md).
 */
export class ClientTrust {
  /** Every anchor, as PEM, for the TLS stack; the per-domain rules are enforced by `admit`. */
  readonly pem: string;
  readonly #plain: ParsedCertificate[] | undefined;
  readonly #domains: ReadonlyMap<string, ParsedCertificate[]> | undefined;
  readonly #cache = new Map<string, Admitted>();

  constructor(sources: TrustSources) {
    if (sources.clientCa === undefined && sources.trustDomains === undefined) {
      throw new ConfigError("agent.client_ca", "is required unless agent.trust_domains is set");
    }
    this.#plain = sources.clientCa && anchorsOf(sources.clientCa, undefined);
    this.#domains =
      sources.trustDomains &&
      new Map([...sources.trustDomains].map(([domain, bundle]) => [domain, anchorsOf(bundle, domain)]));
    const all = [...(this.#plain ?? []), ...[...(this.#domains?.values() ?? [])].flat()];
    this.pem = pemOf(all.map((anchor) => anchor.der));
  }

  /** The identity of a client chain (leaf DER, then the issuers it presented), or IdentityError. */
  admit(leafDer: Uint8Array, chainDer: readonly Uint8Array[], now: Date): ClientIdentity {
    if (chainDer.length > MAX_PRESENTED) fail(`more than ${MAX_PRESENTED} intermediate certificates`);
    const key = [leafDer, ...chainDer].map(thumbprintOf).join(".");
    const time = now.getTime();
    const known = this.#cache.get(key);
    if (known !== undefined && time >= known.from && time <= known.until) return known.identity;
    const leaf = parseCertificate(leafDer, "client certificate");
    const identity = identityOf(leaf);
    const intermediates = chainDer.map((der, i) =>
      parseCertificate(der, `intermediate certificate ${i + 1}`),
    );
    const path = verifyPath(leaf, intermediates, this.#anchorsFor(identity), now);
    checkCaDomains(path, identity);
    this.#remember(key, {
      identity,
      from: Math.max(...path.map((cert) => cert.notBefore.getTime())),
      until: Math.min(...path.map((cert) => cert.notAfter.getTime())),
    });
    return identity;
  }

  #anchorsFor(identity: ClientIdentity): readonly ParsedCertificate[] {
    if (identity.spiffeId === undefined || this.#domains === undefined) {
      if (this.#plain === undefined) fail("a certificate without a SPIFFE ID needs agent.client_ca");
      return this.#plain;
    }
    const domain = trustDomainOf(identity.spiffeId);
    const anchors = this.#domains.get(domain);
    // The name comes from a validated SPIFFE ID ([a-z0-9._-]), so it is safe in a log line.
    if (anchors === undefined) fail(`trust domain ${domain} is not listed in agent.trust_domains`);
    return anchors;
  }

  #remember(key: string, entry: Admitted): void {
    if (this.#cache.size >= MAX_CACHED_CHAINS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
  }
}

/**
 * SPIRE's CAs carry their trust domain ID (`spiffe://td`) as URI SAN: such a CA, anywhere in the
 * path, vouches only for SVIDs of that trust domain (and for no certificate without a SPIFFE ID).
 * This keeps a federated CA in a plain `client_ca` bundle from issuing IDs of ours.
 */
function checkCaDomains(path: readonly ParsedCertificate[], identity: ClientIdentity): void {
  const domain = identity.spiffeId === undefined ? undefined : trustDomainOf(identity.spiffeId);
  for (const ca of path.slice(1)) {
    const vouchesFor = caTrustDomain(ca.uris);
    if (vouchesFor !== undefined && vouchesFor !== domain) {
      fail(`${ca.what} speaks for trust domain ${vouchesFor} only`);
    }
  }
}

function anchorsOf(bundle: Bundle, domain: string | undefined): ParsedCertificate[] {
  return bundle.ders.map((der, i) => {
    try {
      const anchor = parseCertificate(
        der,
        `${domain === undefined ? "client CA" : domain} certificate ${i + 1}`,
      );
      const vouchesFor = caTrustDomain(anchor.uris);
      if (domain !== undefined && vouchesFor !== undefined && vouchesFor !== domain) {
        throw new ConfigError(bundle.source, `certificate ${i + 1} is a CA of trust domain ${vouchesFor}`);
      }
      return anchor;
    } catch (error) {
      if (error instanceof ConfigError || !(error instanceof SurrogateError)) throw error;
      throw new ConfigError(bundle.source, `certificate ${i + 1}: ${error.message}`, { cause: error });
    }
  });
}

function fail(reason: string): never {
  throw new IdentityError("certificate_invalid", `client certificate rejected: ${reason}`);
}

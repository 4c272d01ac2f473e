/**
 * The companion's own certificate authority, for terminating the TLS a tool opens through CONNECT.
 * ECDSA P-256, created at start-up and held in memory only: its key never touches disk and dies with
 * the process, so a tool's trust in it ends with the companion. Leaf certificates are issued on the
 * fly for the one host a CONNECT named, cached, and short-lived.
 */
import { isIP } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { CertificateAuthority } from "../core/pki/issue.ts";

/** A leaf lives an hour; it is replaced well before that, so no handshake meets an expiring one. */
const LEAF_LIFETIME_MS = 60 * 60_000;
const LEAF_RENEW_BEFORE_MS = 15 * 60_000;
/** Hosts are bounded by the providers' upstream patterns, but wildcards match many names. */
const MAX_CACHED_LEAVES = 512;
/** The CA outlives any run; its key exists only in this process's memory. */
const CA_LIFETIME_MS = 365 * 86_400_000;

export interface LocalCa {
  /** The CA certificate tools are told to trust. */
  certPem: string;
  /** A TLS context presenting a leaf for `host` (DNS name or IPv4), issued or taken from the cache. */
  contextFor(host: string): Promise<SecureContext>;
}

interface CachedLeaf {
  context: Promise<SecureContext>;
  renewAt: number;
}

export async function createLocalCa(now: () => number = Date.now): Promise<LocalCa> {
  const start = now();
  // Loaded on first use: certificate generation pulls in @peculiar/x509 and its Reflect shim,
  // which no other command (and no server) needs.
  const { createCa } = await import("../core/pki/issue.ts");
  const ca = await createCa({
    commonName: "surrogate companion (local, in memory)",
    notBefore: new Date(start - 60_000),
    notAfter: new Date(start + CA_LIFETIME_MS),
  });
  const leaves = new Map<string, CachedLeaf>();
  return {
    certPem: ca.certPem,
    contextFor(host) {
      const cached = leaves.get(host);
      if (cached !== undefined && cached.renewAt > now()) return cached.context;
      if (leaves.size >= MAX_CACHED_LEAVES) leaves.delete(leaves.keys().next().value as string);
      const issued = now();
      const context = issueLeaf(ca, host, issued);
      // A failed issuance is not cached: the next CONNECT tries again.
      context.catch(() => leaves.delete(host));
      leaves.set(host, { context, renewAt: issued + LEAF_LIFETIME_MS - LEAF_RENEW_BEFORE_MS });
      return context;
    },
  };
}

async function issueLeaf(ca: CertificateAuthority, host: string, issued: number): Promise<SecureContext> {
  const { issueCertificate } = await import("../core/pki/issue.ts");
  const leaf = await issueCertificate(ca, {
    usage: "server",
    commonName: host,
    ...(isIP(host) === 0 ? { dnsNames: [host] } : { ipAddresses: [host] }),
    notBefore: new Date(issued - 60_000),
    notAfter: new Date(issued + LEAF_LIFETIME_MS),
  });
  return createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
}

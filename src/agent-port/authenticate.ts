import type { DetailedPeerCertificate } from "node:tls";
import type { Socket } from "bun";
import { SurrogateError } from "../core/errors.ts";
import type { ClientTrust } from "../core/identity/trust.ts";
import type { ClientIdentity } from "../core/identity/types.ts";

/** Certificates above the leaf we pass to the in-code check; the chain verifier caps depth anyway. */
const MAX_CHAIN = 8;

export type Authentication =
  | { ok: true; identity: ClientIdentity }
  | { ok: false; reason: string; detail?: string };

/**
 * Establishes who is on the other end of a TLS connection that the TLS stack already accepted.
 * DESIGN §11: Bun's client-certificate enforcement has had bugs, so `authorized` alone is not
 * trusted: the chain is verified again in code (src/core/identity/trust.ts), with the trust-domain
 * rules the TLS stack does not know, before any request is served.
 */
export function authenticate(socket: Socket<unknown>, trust: ClientTrust, now: Date): Authentication {
  if (socket.authorized !== true) return { ok: false, reason: "tls_not_authorized" };
  const peer = peerChain(socket);
  const leaf = rawOf(peer);
  if (leaf === undefined) return { ok: false, reason: "no_certificate" };
  try {
    return { ok: true, identity: trust.admit(leaf, chainAbove(peer), now) };
  } catch (error) {
    if (error instanceof SurrogateError) return { ok: false, reason: error.code, detail: error.message };
    return { ok: false, reason: "certificate_invalid" };
  }
}

/**
 * Bun's socket takes node's inverted flag, `abbreviated` (verified in 1.4.5): `false` returns the
 * leaf with its `issuerCertificate` chain, the typings only know the no-argument form.
 */
function peerChain(socket: Socket<unknown>): DetailedPeerCertificate {
  const get = socket.getPeerCertificate as (this: Socket<unknown>, abbreviated: boolean) => unknown;
  return get.call(socket, false) as DetailedPeerCertificate;
}

/** The issuers the peer presented (as OpenSSL assembled them), leaf excluded. */
function chainAbove(peer: DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let current = peer;
  while (chain.length < MAX_CHAIN) {
    const issuer = current.issuerCertificate;
    // OpenSSL marks the top of the chain by pointing a certificate at itself.
    if (issuer === undefined || issuer === current) break;
    const raw = rawOf(issuer);
    if (raw === undefined) break;
    chain.push(raw);
    current = issuer;
  }
  return chain;
}

function rawOf(peer: DetailedPeerCertificate | undefined): Uint8Array | undefined {
  const raw: unknown = peer?.raw;
  return raw instanceof Uint8Array && raw.length > 0 ? new Uint8Array(raw) : undefined;
}

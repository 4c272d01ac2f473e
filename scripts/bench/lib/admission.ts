import { describeCertificate } from "../../../src/core/identity/certificate.ts";
import { verifyClientCertificate } from "../../../src/core/identity/chain.ts";

/** What the agent port runs on a client chain after the TLS handshake. */
export type AdmissionCheck = (leaf: Uint8Array, chain: Uint8Array[]) => void;

export function admissionCheck(bundlePem: string): AdmissionCheck {
  return (leaf, chain) => {
    describeCertificate(leaf);
    verifyClientCertificate(leaf, bundlePem, new Date(), chain);
  };
}

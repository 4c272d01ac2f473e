import { ClientTrust } from "../../../src/core/identity/trust.ts";

/** What the agent port runs on a client chain after the TLS handshake. */
export type AdmissionCheck = (leaf: Uint8Array, chain: Uint8Array[]) => void;

export function admissionCheck(caDer: Uint8Array): AdmissionCheck {
  const trust = new ClientTrust({ clientCa: { source: "bench", ders: [caDer] } });
  return (leaf, chain) => {
    trust.admit(leaf, chain, new Date());
  };
}

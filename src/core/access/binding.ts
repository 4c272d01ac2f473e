import type { ClientIdentity } from "../identity/types.ts";
import type { Binding } from "../token/types.ts";
import type { BindingChoice } from "./policy.ts";

/** The `cnf` of each wrapper minted for one client, and what caps a certificate-bound `exp`. */
export interface WrapperBindings {
  access: Binding;
  refresh: Binding;
  /** The client certificate's `notAfter`, epoch seconds: no `x5t#S256` wrapper outlives it. */
  certificateNotAfter: number;
}

type Client = Pick<ClientIdentity, "thumbprint" | "keyThumbprint" | "spiffeId" | "notAfter">;

/**
 * DESIGN §5. Access wrappers bind the presenting certificate (`x5t#S256`, RFC 8705 §3), or its key
 * (`jkt`, RFC 7638) where `binding = "key"`. Refresh wrappers of an SVID bind its SPIFFE ID, so the
 * next SVID (new key, same ID, same trust domain's bundle) can refresh: whoever obtains that SVID
 * could obtain everything that ID may have anyway. Without a SPIFFE ID, or pinned by
 * `refresh_binding = "certificate"`, they bind the certificate as before.
 */
export function wrapperBindings(client: Client, choice: BindingChoice): WrapperBindings {
  const certificate: Binding = { kind: "x5t#S256", value: client.thumbprint };
  return {
    access: choice.access === "key" ? { kind: "jkt", value: client.keyThumbprint } : certificate,
    refresh:
      choice.refresh === "spiffe_id" && client.spiffeId !== undefined
        ? { kind: "spiffe_id", value: client.spiffeId }
        : certificate,
    certificateNotAfter: Math.floor(client.notAfter.getTime() / 1000),
  };
}

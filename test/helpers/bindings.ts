import type { WrapperBindings } from "../../src/core/access/binding.ts";

/** Both wrappers bound to one certificate whose `notAfter` is far enough away never to cap `exp`. */
export function certificateBound(thumbprint: string): WrapperBindings {
  const binding = { kind: "x5t#S256", value: thumbprint } as const;
  return { access: binding, refresh: binding, certificateNotAfter: 4_000_000_000 };
}

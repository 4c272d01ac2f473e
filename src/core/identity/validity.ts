import type { ClientIdentity } from "./types.ts";

/**
 * Why a client certificate cannot be used at `now` (epoch ms), or undefined when it can. The TLS
 * handshake checked validity once; a kept-alive connection outlives that check, and SPIFFE revokes
 * by expiry, so every request asks again (issue #14).
 */
export function certificateTimeProblem(
  client: Pick<ClientIdentity, "notBefore" | "notAfter">,
  now: number,
): string | undefined {
  if (now > client.notAfter.getTime()) return `expired at ${client.notAfter.toISOString()}`;
  if (now < client.notBefore.getTime()) return `not valid before ${client.notBefore.toISOString()}`;
  return undefined;
}

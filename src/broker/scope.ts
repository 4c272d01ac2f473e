/** The `scope` request parameter (RFC 6749 §3.3). */
import { OAuthError } from "../core/errors.ts";

/** Limits on what an agent may ask for: the list is shown on the consent page and sent to the IdP. */
export const MAX_SCOPES = 50;
export const MAX_SCOPE_BYTES = 1024;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII except `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Space-separated scope → distinct scope tokens, in the order given. Absent or blank → the
 * provider's defaults. Anything else that is not a list of scope-tokens is refused rather than
 * cleaned up, so the person approves exactly what the agent sent.
 */
export function parseScope(input: string | undefined, defaults: readonly string[]): string[] {
  if (input === undefined || input.trim() === "") return [...defaults];
  if (input.length > MAX_SCOPE_BYTES)
    throw new OAuthError("invalid_request", `scope: longer than ${MAX_SCOPE_BYTES} characters`);
  const scopes = [...new Set(input.trim().split(/ +/))];
  if (scopes.length > MAX_SCOPES)
    throw new OAuthError("invalid_request", `scope: more than ${MAX_SCOPES} scopes`);
  if (!scopes.every((scope) => SCOPE_TOKEN.test(scope))) {
    throw new OAuthError("invalid_request", "scope: not a space-separated list of RFC 6749 scope tokens");
  }
  return scopes;
}

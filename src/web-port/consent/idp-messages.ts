/**
 * Pages for failures at the identity provider. They say WHERE it failed (could not reach it, it
 * refused, it answered something unusable) so a person knows whether to retry or call an admin;
 * they never repeat the IdP's free-text description, which we do not control.
 */
import type { ErrorCode } from "../../core/errors.ts";
import type { Message } from "./pages.ts";

const RETRY = "Nothing was issued. Open the link from your agent again to retry while the code is valid.";

/** RFC 6749 §4.1.2.1 error codes are `[\x20-\x21\x23-\x5B\x5D-\x7E]`; we show only plain tokens. */
const SHOWN_ERROR = /^[a-z_]{1,64}$/;

export function idpFailure(code: ErrorCode): Message {
  switch (code) {
    case "idp_network":
      return {
        status: 502,
        title: "Identity provider unreachable",
        lines: ["The identity provider could not be reached.", RETRY],
        code,
      };
    case "idp_error":
      return {
        status: 502,
        title: "Identity provider refused",
        lines: ["The identity provider refused to complete the sign-in.", RETRY],
        code,
      };
    case "id_token_invalid":
      return {
        status: 502,
        title: "Sign-in not verified",
        lines: ["The identity provider's ID token did not verify.", RETRY],
        code,
      };
    default:
      return {
        status: 502,
        title: "Unexpected response",
        lines: ["The identity provider sent an unexpected response.", RETRY],
        code: "idp_unexpected_response",
      };
  }
}

/** The IdP redirected back with `?error=…` other than access_denied. */
export function idpRefusal(error: string): Message {
  const shown = SHOWN_ERROR.test(error) ? error : "unrecognised error";
  return {
    status: 502,
    title: "Identity provider refused",
    lines: [`The identity provider refused the sign-in (${shown}).`, RETRY],
    code: "idp_error",
  };
}

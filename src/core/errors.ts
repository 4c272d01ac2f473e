/**
 * Every error surrogate raises carries a stable `code` from this one union, so callers, tests and
 * operators match on codes, never on message text. Messages name what was wrong and where; they
 * never contain a secret (tokens, codes, verifiers, client secrets, cookies).
 */
export type ErrorCode =
  // configuration and start-up
  | "config_invalid"
  | "keys_invalid"
  // a file, stdin or flag value handed to a CLI command
  | "input_invalid"
  // wrapper tokens and certificates (RFC 6750 / RFC 8705 vocabulary where it exists)
  | "missing_token"
  | "invalid_token"
  | "binding_mismatch"
  | "certificate_invalid"
  | "certificate_expired"
  | "spiffe_invalid"
  // proxy routing and forwarding (DESIGN §9)
  | "host_not_allowed"
  | "bad_target"
  | "upstream_unreachable"
  | "upstream_timeout"
  | "payload_too_large"
  | "headers_too_large"
  // the agent-side companion (surrogate run / agent): a tool without the proxy credential
  | "proxy_auth_required"
  // agent API, RFC 6749 §5.2 and RFC 8628 §3.5
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "access_denied"
  | "authorization_pending"
  | "slow_down"
  | "expired_token"
  | "rate_limited"
  | "server_error"
  | "temporarily_unavailable"
  // talking to identity providers: where the failure happened
  | "idp_network"
  | "idp_error"
  | "idp_unexpected_response"
  | "id_token_invalid"
  // browser flow
  | "state_invalid"
  | "csrf_invalid"
  | "not_found";

export class SurrogateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration problem; the message starts with the dotted key (`providers.github.client_secret: …`). */
export class ConfigError extends SurrogateError {
  constructor(key: string, problem: string, options?: { cause?: unknown }) {
    super("config_invalid", `${key}: ${problem}`, options);
  }
}

export class KeysError extends SurrogateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("keys_invalid", message, options);
  }
}

/** A wrapper that must not be honoured. Always `invalid_token` unless the binding is what failed. */
export class TokenError extends SurrogateError {}

/** A client certificate that does not establish a workload identity. */
export class IdentityError extends SurrogateError {}

/** A proxy request refused before or while forwarding; maps onto RFC 9457 problem details. */
export class ProxyError extends SurrogateError {}

/** An agent-API failure expressed as an OAuth error response (`{error, error_description}`). */
export class OAuthError extends SurrogateError {}

/** A failure while talking to an identity provider: network, its own error response, or a response we cannot use. */
export class IdpError extends SurrogateError {}

/** The rendezvous store refused or could not complete an operation. */
export class RendezvousError extends SurrogateError {}

/** A browser-facing failure on the web port (bad state, missing CSRF token, unknown user code). */
export class WebError extends SurrogateError {}

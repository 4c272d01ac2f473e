/** Provider kinds accepted in `[providers.NAME] kind = …`. `demo` is the built-in IdP of `surrogate dev`. */
export const PROVIDER_KINDS = [
  "github",
  "google",
  "microsoft",
  "gitlab",
  "slack",
  "atlassian",
  "oidc",
  "oauth2",
  "static",
  "demo",
] as const;

export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * RFC 6749 §2.3.1 client authentication at the token endpoint, named as in RFC 7591 §2
 * (`token_endpoint_auth_method`): HTTP Basic, or `client_id`/`client_secret` in the request body.
 */
export const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"] as const;

export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

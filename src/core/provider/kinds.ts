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

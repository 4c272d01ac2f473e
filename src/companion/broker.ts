/**
 * What the companion needs from the agent side of surrogate: the broker connection of
 * `surrogate login` (flags, SURROGATE_* variables, certificate material that follows the files)
 * and the wrapper files. The CLI implements it with its own client (src/cli/companion-broker.ts),
 * so this folder never imports the CLI that starts it.
 */

/** Where the broker is and the mTLS material to reach it with, as Bun's fetch takes it. */
export interface BrokerConnection {
  /** Base URL of the agent port, without a trailing slash. */
  broker: string;
  tls: { cert: string; key: string; ca?: string };
  /** base64url SHA-256 of the client certificate (what an `x5t#S256` binding names). */
  thumbprint: string;
}

/** A wrapper file's content: the access wrapper and, from `login --json`, the refresh wrapper. */
export interface WrapperFile {
  access: string;
  refresh?: string;
}

export interface AgentBroker {
  /** The connection with the newest usable certificate material (checked on every call). */
  current(): Promise<BrokerConnection>;
  /** The body of `GET /v1/providers` (200 only; a refusal throws a SurrogateError). */
  providers(): Promise<unknown>;
  /**
   * `POST /v1/token` with the refresh wrapper; the fresh pair is written to `path` (0600, atomic)
   * and returned. Throws OAuthError `invalid_grant`/`access_denied` when refused for good.
   */
  refresh(refreshWrapper: string, path: string): Promise<WrapperFile>;
  readWrapperFile(path: string): Promise<WrapperFile>;
  /** One line saying why a request to the broker failed (which certificate, unreachable …). */
  describeFailure(error: unknown): string;
}

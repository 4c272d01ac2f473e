import { checkHttpsUrl } from "../../core/config/url.ts";
import { ConfigError } from "../../core/errors.ts";
import { boundedFetch } from "../../core/io/bounded-fetch.ts";
import { BodyTooLargeError } from "../../core/io/read-capped.ts";
import type { ClientAuthMethod } from "../../core/provider/kinds.ts";
import { asymmetricAlgorithms } from "./oidc.ts";

/** The parts of an OpenID Provider's metadata (OIDC Discovery §3, RFC 8414 §2) the broker uses. */
export interface DiscoveredMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** Asymmetric id_token signing algorithms the IdP uses (`id_token_signing_alg_values_supported`). */
  idTokenAlgorithms?: string[];
  /** How this client authenticates at the token endpoint, from `token_endpoint_auth_methods_supported`. */
  clientAuth: ClientAuthMethod;
  /** RFC 8414 §2 `revocation_endpoint` (RFC 7009), when the IdP has one. */
  revocationEndpoint?: string;
  /** RFC 9207 §3: the IdP promises `iss` on every authorization response. */
  issParameterSupported: boolean;
}

const DISCOVERY_TIMEOUT_MS = 10_000;
const DISCOVERY_MAX_BYTES = 256 * 1024;

/**
 * Fetches `issuer + "/.well-known/openid-configuration"` once at start-up. The document's `issuer`
 * must equal the configured one exactly (OIDC Discovery §4.3): otherwise an attacker controlling a
 * document could impersonate another issuer. Every endpoint must be https (loopback excepted).
 * Failures are ConfigErrors naming `key` (the provider's `issuer` key): start-up stops.
 */
export async function discoverIssuer(
  issuer: string,
  key: string,
  fetchImpl: typeof fetch,
): Promise<DiscoveredMetadata> {
  const location = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const document = await fetchDocument(location, key, fetchImpl);
  if (document.issuer !== issuer) {
    throw new ConfigError(
      key,
      "the discovery document names a different issuer (OIDC Discovery §4.3 requires an exact match)",
    );
  }
  const methods = document.code_challenge_methods_supported;
  // RFC 7636 §4.2: without S256 the code verifier would travel in the clear (plain) or not at all.
  if (Array.isArray(methods) && !methods.includes("S256")) {
    throw new ConfigError(
      key,
      "the identity provider does not support PKCE S256 (code_challenge_methods_supported)",
    );
  }
  return {
    issuer,
    authorizationEndpoint: endpoint(document, "authorization_endpoint", key),
    tokenEndpoint: endpoint(document, "token_endpoint", key),
    jwksUri: endpoint(document, "jwks_uri", key),
    clientAuth: clientAuthOf(document.token_endpoint_auth_methods_supported, key),
    ...idTokenAlgorithmsOf(document.id_token_signing_alg_values_supported, key),
    ...(document.revocation_endpoint !== undefined && {
      revocationEndpoint: endpoint(document, "revocation_endpoint", key),
    }),
    issParameterSupported: document.authorization_response_iss_parameter_supported === true,
  };
}

async function fetchDocument(
  location: string,
  key: string,
  fetchImpl: typeof fetch,
): Promise<Record<string, unknown>> {
  const get = boundedFetch(fetchImpl, { timeoutMs: DISCOVERY_TIMEOUT_MS, maxBytes: DISCOVERY_MAX_BYTES });
  let response: Response;
  try {
    response = await get(location, { headers: { accept: "application/json" } });
  } catch (error) {
    const why =
      error instanceof BodyTooLargeError ? error.message : "the identity provider is unreachable or too slow";
    throw new ConfigError(key, `OpenID discovery failed: ${why}`, { cause: error });
  }
  if (response.status !== 200) {
    throw new ConfigError(key, `OpenID discovery failed: ${location} answered HTTP ${response.status}`);
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw new ConfigError(key, "OpenID discovery failed: the document is not JSON");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new ConfigError(key, "OpenID discovery failed: the document is not a JSON object");
  }
  return document as Record<string, unknown>;
}

function endpoint(document: Record<string, unknown>, member: string, key: string): string {
  const value = document[member];
  if (typeof value !== "string") throw new ConfigError(key, `the discovery document has no ${member}`);
  checkHttpsUrl(value, `${key} (discovered ${member})`);
  return value;
}

/**
 * OIDC Discovery §3 / RFC 8414 §2: absent, the IdP supports `client_secret_basic`, which RFC 6749
 * §2.3.1 prefers (the secret stays out of the body); `client_secret_post` only when the IdP lists it
 * and not Basic. A list with neither (say, private_key_jwt only) is a client surrogate cannot be.
 */
function clientAuthOf(methods: unknown, key: string): ClientAuthMethod {
  if (methods === undefined) return "client_secret_basic";
  const listed = Array.isArray(methods) ? methods : [];
  if (listed.includes("client_secret_basic")) return "client_secret_basic";
  if (listed.includes("client_secret_post")) return "client_secret_post";
  throw new ConfigError(
    key,
    "the identity provider supports neither client_secret_basic nor client_secret_post " +
      "(token_endpoint_auth_methods_supported)",
  );
}

/**
 * The id_token algorithms to accept: the IdP's own list (OIDC Discovery §3, required there) minus
 * `none` and HMAC, so an IdP signing with RS384, RS512 or ES384 is not refused by a fixed list. A
 * list with nothing asymmetric left cannot be validated safely: start-up stops.
 */
function idTokenAlgorithmsOf(advertised: unknown, key: string): { idTokenAlgorithms?: string[] } {
  const algorithms = asymmetricAlgorithms(advertised);
  if (algorithms === undefined) return {};
  if (algorithms.length === 0) {
    throw new ConfigError(
      key,
      "the identity provider signs id_tokens with no asymmetric algorithm (id_token_signing_alg_values_supported); " +
        "none and HS* are never accepted",
    );
  }
  return { idTokenAlgorithms: algorithms };
}

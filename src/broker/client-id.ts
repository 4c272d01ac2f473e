/**
 * `client_id` on the agent API names a provider (DESIGN §4.1). Every agent is a public client of
 * each provider's "client": it authenticates with its certificate at the TLS layer and its tokens
 * are bound to that certificate (RFC 8705 §3), so the name needs no secret. A standard device-flow
 * client then needs nothing surrogate-specific: `client_id = "github"` is a grant for GitHub.
 */
import { OAuthError } from "../core/errors.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import type { RequestParams } from "./request-body.ts";

type Providers = ReadonlyMap<string, ResolvedProvider>;

/** RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
function param(params: RequestParams, name: string): string | undefined {
  const value = params.get(name);
  return value === "" ? undefined : value;
}

/** The sent `client_id`, if any; one naming no configured provider is `invalid_client` (RFC 6749 §5.2). */
export function clientIdOf(providers: Providers, params: RequestParams): string | undefined {
  const clientId = param(params, "client_id");
  if (clientId !== undefined && !providers.has(clientId)) {
    throw new OAuthError("invalid_client", "client_id: names no configured provider");
  }
  return clientId;
}

/**
 * The provider a device authorization request is for: its `client_id`, or the `provider` parameter
 * (`surrogate login` sends that one). Both at once must agree: no silent choice between two answers.
 */
export function requestedProvider(providers: Providers, params: RequestParams): string {
  const clientId = clientIdOf(providers, params);
  const provider = param(params, "provider");
  if (clientId !== undefined && provider !== undefined && clientId !== provider) {
    throw new OAuthError("invalid_request", "provider: differs from client_id (send one, or the same name)");
  }
  const name = clientId ?? provider;
  if (name === undefined) throw new OAuthError("invalid_request", "client_id: missing (the provider's name)");
  return name;
}

import { resolveProviders } from "../../broker/providers/registry.ts";
import type { Config } from "../../core/config/types.ts";
import { ConfigError, SurrogateError } from "../../core/errors.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";

/**
 * A second client for the admin provider whose redirect URI is issuer + "/admin/callback": the
 * registry derives redirect_uri from the issuer it is given, so it resolves the one provider again
 * with "/admin" appended. The provider's own client (redirect to /callback) is left untouched.
 */
export async function resolveAdminProvider(
  config: Config,
  deps: { fetch: typeof fetch; now: () => number },
): Promise<ResolvedProvider> {
  const name = config.admin?.provider;
  const provider = name === undefined ? undefined : config.providers[name];
  if (name === undefined || provider === undefined)
    throw new SurrogateError("not_found", "admin: no provider login configured");
  const resolved = await resolveProviders(
    { ...config, issuer: `${config.issuer}/admin`, providers: { [name]: provider }, policy: [] },
    deps,
  );
  const admin = resolved.get(name);
  if (admin?.oauth?.validateIdToken === undefined) {
    throw new ConfigError("admin.provider", "the provider does not validate id_tokens");
  }
  return admin;
}

/** Resolved on first use and kept; a failure is not kept, so the next attempt retries. */
export function lazyAdminProvider(
  config: Config,
  deps: { fetch: typeof fetch; now: () => number },
): () => Promise<ResolvedProvider> {
  let resolving: Promise<ResolvedProvider> | undefined;
  return () => {
    resolving ??= resolveAdminProvider(config, deps).catch((error: unknown) => {
      resolving = undefined;
      throw error;
    });
    return resolving;
  };
}

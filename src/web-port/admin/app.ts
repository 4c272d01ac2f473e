/**
 * The operator view on the web port, as an Elysia plugin: `/admin` (htmx pages, see DESIGN §3),
 * `/readyz` and `/metrics`. Without `[admin]` in the configuration every `/admin` path answers 404:
 * the UI is never open by default. Every response gets the web port's security headers.
 */
import { Elysia } from "elysia";
import { resolveProviders } from "../../broker/providers/registry.ts";
import type { Config } from "../../core/config/types.ts";
import { ConfigError, SurrogateError } from "../../core/errors.ts";
import type { ResolvedProvider } from "../../core/provider/types.ts";
import { createGuessLimiter } from "../shared/guess-limiter.ts";
import type { AdminContext, AdminDeps } from "./deps.ts";
import { GrantHistory } from "./grant-history.ts";
import { metrics, readiness } from "./health.ts";
import { IdpProbe } from "./idp-status.ts";
import { KeyAges } from "./key-ages.ts";
import { loginPage, logout, passwordLogin, providerCallback, providerStart } from "./login.tsx";
import { notFound, plain, secured } from "./responses.ts";
import { fragmentRoute, pageRoute } from "./routes.tsx";
import { ADMIN_STYLESHEET, adminStylesheetResponse } from "./static.ts";

export type { AdminDeps } from "./deps.ts";

/** Bodies are read by the capped form reader (src/web/form.ts), never by Elysia's parser. */
const RAW_BODY = { parse: "none" } as const;

/** Five wrong passwords a minute per client address: enough for typos, useless for guessing. */
const PASSWORD_LIMITS = { maxMisses: 5, windowMs: 60_000, maxClients: 10_000 };

interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

export function createAdminApp(deps: AdminDeps) {
  const context = adminContext(deps);
  // Probe the IdPs once at start, so the first overview already shows their reachability.
  if (context.admin !== undefined) context.idp.statuses();
  const guard = (handler: () => Promise<Response> | Response) => async () =>
    secured(await run(context, handler));
  const admin = (handler: () => Promise<Response> | Response) =>
    guard(context.admin === undefined ? notFound : handler);
  const client = (request: Request, server: PeerSource | null) =>
    deps.clientAddress?.(request) ?? server?.requestIP(request)?.address ?? "unknown";
  return new Elysia({ name: "surrogate-admin" })
    .get(
      "/readyz",
      guard(() => readiness(deps)),
    )
    .get("/metrics", ({ request }) => guard(() => metrics(deps, request))())
    .get(ADMIN_STYLESHEET.path, guard(adminStylesheetResponse))
    .get("/admin", ({ request }) => admin(() => pageRoute(context, request, "overview"))())
    .get("/admin/grants", ({ request }) => admin(() => pageRoute(context, request, "grants"))())
    .get("/admin/traffic", ({ request }) => admin(() => pageRoute(context, request, "traffic"))())
    .get("/admin/fragments/overview", ({ request }) =>
      admin(() => fragmentRoute(context, request, "overview"))(),
    )
    .get("/admin/fragments/grants", ({ request }) => admin(() => fragmentRoute(context, request, "grants"))())
    .get("/admin/fragments/traffic", ({ request }) =>
      admin(() => fragmentRoute(context, request, "traffic"))(),
    )
    .get("/admin/login", ({ request }) => admin(() => loginPage(context, request))())
    .post(
      "/admin/login",
      ({ request, server }) => admin(() => passwordLogin(context, request, client(request, server)))(),
      RAW_BODY,
    )
    .get("/admin/login/provider", () => admin(() => providerStart(context))())
    .get("/admin/callback", ({ request }) => admin(() => providerCallback(context, request))())
    .post("/admin/logout", ({ request }) => admin(() => logout(context, request))(), RAW_BODY)
    .all("/admin/*", guard(notFound));
}

function adminContext(deps: AdminDeps): AdminContext {
  let resolving: Promise<ResolvedProvider> | undefined;
  return {
    deps,
    // The pages need a way to sign in; `[admin]` with only api_token opens the API alone.
    admin: deps.config.admin?.passwordHash || deps.config.admin?.provider ? deps.config.admin : undefined,
    secure: new URL(deps.config.issuer).protocol === "https:",
    randomBytes: deps.randomBytes ?? ((size) => crypto.getRandomValues(new Uint8Array(size))),
    limiter: createGuessLimiter(PASSWORD_LIMITS),
    idp: new IdpProbe(deps.config, deps.fetch, deps.now),
    keyAges: new KeyAges(),
    history: new GrantHistory(),
    // Resolved on first use and kept; a failure is not kept, so the next attempt retries.
    adminOAuth: () => {
      resolving ??= resolveAdminProvider(deps.config, deps).catch((error: unknown) => {
        resolving = undefined;
        throw error;
      });
      return resolving;
    },
  };
}

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

/** A failure inside an admin handler never shows details: its code is logged, the page is generic. */
async function run(context: AdminContext, handler: () => Promise<Response> | Response): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    if (
      error instanceof SurrogateError &&
      (error.code === "payload_too_large" || error.code === "invalid_request")
    ) {
      return plain("bad request", error.code === "payload_too_large" ? 413 : 400);
    }
    const code = error instanceof SurrogateError ? error.code : "server_error";
    context.deps.logger.error("admin request failed", {
      code,
      error: error instanceof Error ? error.name : "unknown",
    });
    return plain(
      "The admin view could not handle this request. Try again in a moment.",
      code === "idp_network" ? 502 : 500,
    );
  }
}

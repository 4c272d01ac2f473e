/**
 * The operator view on the web port, as an Elysia plugin: `/admin` (htmx pages, see DESIGN §3),
 * `/readyz` and `/metrics`. Without `[admin]` in the configuration every `/admin` path answers 404
 * (the group's guard): the UI is never open by default. The web port's plugins add the security
 * headers (form-action 'self' only on /admin) and type the pages.
 */
import { Elysia } from "elysia";
import { ADMIN_STYLESHEET } from "../../../ui/admin/assets.ts";
import { SurrogateError } from "../../core/errors.ts";
import { plain } from "../shared/reply.ts";
import { staticResponse } from "../shared/static.ts";
import { revokeRoute } from "./access.ts";
import type { AdminContext, HealthContext } from "./context.ts";
import { metrics, readiness } from "./health.ts";
import { loginPage, logout, passwordLogin, providerCallback, providerStart } from "./login.ts";
import { fragmentRoute, pageRoute } from "./routes.tsx";

const notFound = () => plain("not found", 404);

export function adminRoutes(health: HealthContext, context: AdminContext) {
  // Probe the IdPs once at start, so the first overview already shows their reachability.
  if (context.admin !== undefined) context.idp.statuses();
  return new Elysia({ name: "surrogate-admin" })
    .get("/readyz", () => readiness(health))
    .get("/metrics", ({ request }) => metrics(health, request))
    .get(ADMIN_STYLESHEET.path, () => staticResponse(ADMIN_STYLESHEET))
    .group("/admin", (admin) =>
      admin
        .onBeforeHandle(() => (context.admin === undefined ? notFound() : undefined))
        .get("", ({ request, set }) => pageRoute(context, request, set, "overview"))
        .get("/grants", ({ request, set }) => pageRoute(context, request, set, "grants"))
        .get("/traffic", ({ request, set }) => pageRoute(context, request, set, "traffic"))
        .get("/access", ({ request, set }) => pageRoute(context, request, set, "access"))
        .post("/access/revoke", ({ request }) => revokeRoute(context, request))
        .get("/fragments/overview", ({ request }) => fragmentRoute(context, request, "overview"))
        .get("/fragments/grants", ({ request }) => fragmentRoute(context, request, "grants"))
        .get("/fragments/traffic", ({ request }) => fragmentRoute(context, request, "traffic"))
        .get("/fragments/access", ({ request }) => fragmentRoute(context, request, "access"))
        .get("/login", ({ request, set }) => loginPage(context, request, set))
        .post("/login", ({ request, set, server }) =>
          passwordLogin(context, request, set, context.clientAddress(request, server)),
        )
        .get("/login/provider", ({ set }) => providerStart(context, set))
        .get("/callback", ({ request, set }) => providerCallback(context, request, set))
        .post("/logout", ({ request, set }) => logout(context, request, set))
        .all("/*", notFound),
    );
}

/**
 * What an admin request that failed shows: never details. Its code is logged; the answer is generic
 * text (the operator view needs no page for it).
 */
export function adminErrorResponse(logger: HealthContext["logger"], error: unknown): Response {
  if (
    error instanceof SurrogateError &&
    (error.code === "payload_too_large" || error.code === "invalid_request")
  ) {
    return plain("bad request", error.code === "payload_too_large" ? 413 : 400);
  }
  const code = error instanceof SurrogateError ? error.code : "server_error";
  logger.error("admin.request_failed", { code, error: error instanceof Error ? error.name : "unknown" });
  return plain(
    "The admin view could not handle this request. Try again in a moment.",
    code === "idp_network" ? 502 : 500,
  );
}

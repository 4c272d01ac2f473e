/**
 * The consent pages for people (DESIGN §3): the device form, the consent page and its countdown,
 * Approve/Deny, the IdP callback; plus the broker's public JWKS, liveness and the static assets.
 * Mounted on the web port (../port.ts), whose plugins add the security headers and type the pages.
 */
import { Elysia } from "elysia";
import { HTMX, STYLESHEET } from "../../../ui/assets.ts";
import { SurrogateError } from "../../core/errors.ts";
import type { ReplySet } from "../shared/reply.ts";
import { staticResponse } from "../shared/static.ts";
import { callbackRoute } from "./callback.ts";
import type { ConsentContext } from "./context.ts";
import { approveRoute, denyRoute } from "./decision.ts";
import { deviceRoute, timeLeftRoute } from "./device.ts";
import {
  type Message,
  messagePage,
  PAGE_NOT_FOUND,
  SERVER_ERROR,
  TOO_MANY_GUESSES,
  UNAVAILABLE,
} from "./pages.ts";

export function consentRoutes(context: ConsentContext) {
  return (
    new Elysia({ name: "surrogate-consent" })
      // The web port's front door is the code form (the dev banner and people typing the host land here).
      .get("/", () => new Response(null, { status: 302, headers: { location: "/device" } }))
      .get("/device", ({ request, set, server }) =>
        deviceRoute(context, request, set, context.clientAddress(request, server)),
      )
      .get("/device/time", ({ request }) => timeLeftRoute(context, request))
      .post("/device/approve", ({ request, set, server }) =>
        approveRoute(context, request, set, context.clientAddress(request, server)),
      )
      .post("/device/deny", ({ request, set, server }) =>
        denyRoute(context, request, set, context.clientAddress(request, server)),
      )
      .get("/callback", ({ request, set, server }) =>
        callbackRoute(context, request, set, context.clientAddress(request, server)),
      )
      .get("/.well-known/jwks.json", () => jwksResponse(context))
      .get("/healthz", () => new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } }))
      .get(HTMX.path, () => staticResponse(HTMX))
      .get(STYLESHEET.path, () => staticResponse(STYLESHEET))
  );
}

/** Public signing keys only (RFC 7517 §8.5 media type); `publicJwks` never holds private members. */
function jwksResponse(context: ConsentContext): Response {
  return new Response(JSON.stringify(context.keys().publicJwks), {
    headers: { "content-type": "application/jwk-set+json" },
  });
}

const PAGE_BY_CODE: Partial<Record<SurrogateError["code"], Message>> = {
  rate_limited: TOO_MANY_GUESSES,
  temporarily_unavailable: UNAVAILABLE,
};

/**
 * The page for everything a consent handler did not answer itself. A SurrogateError's message is
 * safe to log (the contract forbids secrets in messages); the page shows only fixed text and the code.
 */
export function consentErrorPage(
  context: Pick<ConsentContext, "logger">,
  set: ReplySet,
  code: string | number,
  error: unknown,
): JSX.Element {
  if (code === "NOT_FOUND") return messagePage(set, PAGE_NOT_FOUND);
  if (error instanceof SurrogateError) {
    const known = PAGE_BY_CODE[error.code];
    if (known !== undefined) return messagePage(set, known);
    if (error.code === "payload_too_large" || error.code === "invalid_request") {
      return messagePage(set, {
        status: error.code === "payload_too_large" ? 413 : 400,
        title: "Bad request",
        lines: ["The form could not be read. Nothing was changed."],
        code: error.code,
      });
    }
    context.logger.error("web.request_failed", { code: error.code, message: error.message });
    return messagePage(set, SERVER_ERROR);
  }
  context.logger.error("web.request_failed", { code: "server_error", reason: String(code) });
  return messagePage(set, SERVER_ERROR);
}

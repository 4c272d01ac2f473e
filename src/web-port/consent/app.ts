/**
 * The web port (DESIGN §3): consent and callback pages for people, the broker's public JWKS, health.
 * Plain Elysia routes returning `Response`s; every response, errors and 404s included, gets the
 * security headers from the `onRequest` hook.
 */
import { Elysia } from "elysia";
import { SurrogateError } from "../../core/errors.ts";
import { createGuessLimiter } from "../shared/guess-limiter.ts";
import { securityHeaders } from "../shared/headers.ts";
import { HTMX, STYLESHEET, staticResponse } from "../shared/static.ts";
import { callbackRoute } from "./callback.ts";
import { approveRoute, denyRoute } from "./decision.ts";
import type { WebContext, WebDeps } from "./deps.ts";
import { deviceRoute, timeLeftRoute } from "./device.ts";
import {
  type Message,
  messageResponse,
  PAGE_NOT_FOUND,
  SERVER_ERROR,
  TOO_MANY_GUESSES,
  UNAVAILABLE,
} from "./pages.ts";

export type { WebDeps } from "./deps.ts";

const defaultRandomBytes = (size: number): Uint8Array => crypto.getRandomValues(new Uint8Array(size));

/** Bodies are read by our own capped reader (src/web/form.ts), never by Elysia's parser. */
const RAW_BODY = { parse: "none" } as const;

export function createWebApp(deps: WebDeps) {
  const context: WebContext = {
    deps,
    secure: new URL(deps.config.issuer).protocol === "https:",
    randomBytes: deps.randomBytes ?? defaultRandomBytes,
    limiter: createGuessLimiter(),
  };
  const headers = securityHeaders(deps.providers);
  return new Elysia()
    .onRequest(async ({ set }) => {
      Object.assign(set.headers, await headers);
    })
    .onError(({ code, error }) => errorResponse(context, code, error))
    .get("/device", ({ request, server }) =>
      deviceRoute(context, request, clientOf(context, request, server)),
    )
    .get("/device/time", ({ request }) => timeLeftRoute(context, request))
    .post("/device/approve", ({ request }) => approveRoute(context, request), RAW_BODY)
    .post("/device/deny", ({ request }) => denyRoute(context, request), RAW_BODY)
    .get("/callback", ({ request }) => callbackRoute(context, request))
    .get("/.well-known/jwks.json", () => jwksResponse(context))
    .get("/healthz", () => new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } }))
    .get(HTMX.path, () => staticResponse(HTMX))
    .get(STYLESHEET.path, () => staticResponse(STYLESHEET));
}

interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

function clientOf(context: WebContext, request: Request, server: PeerSource | null): string {
  return context.deps.clientAddress?.(request) ?? server?.requestIP(request)?.address ?? "unknown";
}

/** Public signing keys only (RFC 7517 §8.5 media type); `publicJwks` never holds private members. */
function jwksResponse(context: WebContext): Response {
  return new Response(JSON.stringify(context.deps.keys().publicJwks), {
    headers: { "content-type": "application/jwk-set+json" },
  });
}

const STATUS_BY_CODE: Partial<Record<SurrogateError["code"], Message>> = {
  rate_limited: TOO_MANY_GUESSES,
  temporarily_unavailable: UNAVAILABLE,
};

/**
 * Pages for everything a handler did not answer itself. A SurrogateError's message is safe to log
 * (the contract forbids secrets in messages); the page shows only fixed text and the code.
 */
function errorResponse(context: WebContext, code: string | number, error: unknown): Promise<Response> {
  if (code === "NOT_FOUND") return messageResponse(PAGE_NOT_FOUND);
  if (error instanceof SurrogateError) {
    const known = STATUS_BY_CODE[error.code];
    if (known !== undefined) return messageResponse(known);
    if (error.code === "payload_too_large" || error.code === "invalid_request") {
      return messageResponse({
        status: error.code === "payload_too_large" ? 413 : 400,
        title: "Bad request",
        lines: ["The form could not be read. Nothing was changed."],
        code: error.code,
      });
    }
    context.deps.logger.error("web request failed", { code: error.code, message: error.message });
    return messageResponse(SERVER_ERROR);
  }
  context.deps.logger.error("web request failed", { code: "server_error", kind: String(code) });
  return messageResponse(SERVER_ERROR);
}

/**
 * The admin API for automation (issue #15): `POST /admin/api/revocations` and
 * `GET /admin/api/revocations`, answered in JSON and RFC 9457 problem details. Authenticated by
 * `Authorization: Bearer <[admin] api_token>` only, compared in constant time; no cookie is read,
 * so a browser cannot be made to call it and it needs no CSRF token. Without `api_token` every
 * path answers 404, like the UI without `[admin]`.
 */
import { Elysia } from "elysia";
import { type RevokeDeps, type Revoked, revoke } from "../../broker/revoke.ts";
import type { RevocationRule } from "../../core/access/revocation.ts";
import { parseTarget, TargetError } from "../../core/access/revocation-target.ts";
import { type ErrorCode, SurrogateError } from "../../core/errors.ts";
import { BodyTooLargeError, readCapped } from "../../core/io/read-capped.ts";
import { parseStrictJson } from "../../core/io/strict-json.ts";
import type { Secret } from "../../core/secret.ts";
import { problem } from "../../proxy/problem.ts";

export interface AdminApiDeps extends RevokeDeps {
  apiToken: Secret | undefined;
}

/** A revocation body names one target; 4 KiB is generous for a 2 KiB SPIFFE ID. */
const MAX_BODY_BYTES = 4096;
const PATH = "/admin/api/revocations";

export function adminApiRoutes(deps: AdminApiDeps) {
  const guarded =
    (handler: (request: Request) => Promise<Response>) =>
    async ({ request }: { request: Request }) =>
      authenticated(deps, request, handler);
  return new Elysia({ name: "surrogate-admin-api" })
    .get(
      PATH,
      guarded(() => list(deps)),
    )
    .post(
      PATH,
      guarded((request) => create(deps, request)),
    );
}

async function authenticated(
  deps: AdminApiDeps,
  request: Request,
  handler: (request: Request) => Promise<Response>,
): Promise<Response> {
  if (deps.apiToken === undefined) {
    await request.body?.cancel().catch(() => undefined);
    return problem(404, "not_found", "admin API: not enabled ([admin] api_token is not set)");
  }
  const header = request.headers.get("authorization");
  const presented = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header ?? "")?.[1];
  if (presented === undefined || !deps.apiToken.equals(presented)) {
    await request.body?.cancel().catch(() => undefined);
    deps.logger.audit("auth.failed", { reason: "admin_api_token", outcome: "refused" });
    if (header === null)
      return problem(401, "missing_token", "admin API: Authorization: Bearer <api_token> required");
    return problem(401, "invalid_token", "admin API: the bearer token is not the api_token");
  }
  try {
    return await handler(request);
  } catch (error) {
    return failure(deps, error);
  }
}

async function list(deps: AdminApiDeps): Promise<Response> {
  const rules = await deps.revocations.rulesFromStore();
  return Response.json({ revocations: rules.map(ruleJson) });
}

async function create(deps: AdminApiDeps, request: Request): Promise<Response> {
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return invalid("body must be application/json");
  let body: unknown;
  try {
    const bytes = await readCapped(request.body, MAX_BODY_BYTES, request.headers.get("content-length"));
    body = parseStrictJson(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    if (error instanceof BodyTooLargeError)
      return problem(413, "payload_too_large", `admin API: body larger than ${MAX_BODY_BYTES} bytes`);
    return invalid("body is not valid JSON");
  }
  let target: ReturnType<typeof parseTarget>;
  try {
    target = parseTarget(body);
  } catch (error) {
    return invalid(error instanceof TargetError ? `body: ${error.message}` : "body rejected");
  }
  if ("provider" in target && !deps.providers.has(target.provider)) {
    return invalid(`provider: ${JSON.stringify(target.provider.slice(0, 64))} is not configured`);
  }
  const revoked = await revoke(deps, target, "api");
  return Response.json(revokedJson(revoked), { status: 201 });
}

function revokedJson(revoked: Revoked): Record<string, unknown> {
  return {
    ...ruleJson(revoked.rule),
    ...(revoked.upstream === undefined ? {} : { upstream: revoked.upstream }),
  };
}

/** Times as epoch seconds, like the wrappers' own claims. */
export function ruleJson(rule: RevocationRule): Record<string, unknown> {
  return {
    id: rule.id,
    ...rule.target,
    not_before: rule.notBefore,
    created_at: Math.floor(rule.createdAt / 1000),
    expires_at: Math.floor(rule.expiresAt / 1000),
    by: rule.by,
  };
}

function invalid(detail: string): Response {
  return problem(400, "invalid_request", `admin API: ${detail}`);
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  payload_too_large: 413,
  rate_limited: 429,
  temporarily_unavailable: 503,
};

function failure(deps: AdminApiDeps, error: unknown): Response {
  const code = error instanceof SurrogateError ? error.code : undefined;
  const status = code === undefined ? undefined : STATUS[code];
  if (code !== undefined && status !== undefined)
    return problem(status, code, `admin API: ${(error as Error).message}`);
  deps.logger.error("admin api: request failed", { error: error instanceof Error ? error.name : "unknown" });
  return problem(500, "server_error", "admin API: internal error");
}

import { describe, expect, test } from "bun:test";
import { createMemoryAccessStore } from "../../../../src/broker/rendezvous/access-memory.ts";
import { startRevocationSync } from "../../../../src/broker/rendezvous/revocation-sync.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";
import { adminApiRoutes } from "../../../../src/web-port/admin/api.ts";
import { testKeySets } from "../../../helpers/keys.ts";

const TOKEN = "t".repeat(40);
const keys = await testKeySets();

async function apiWith(apiToken: Secret | undefined) {
  const logins = createMemoryAccessStore();
  const logger = createMemoryLogger();
  const revocations = await startRevocationSync(logins, { now: Date.now, logger });
  const providers = new Map();
  const app = adminApiRoutes({
    apiToken,
    revocations,
    logins,
    providers,
    keys: () => keys,
    now: Date.now,
    logger,
  });
  return { app, revocations, logger };
}

function call(app: Awaited<ReturnType<typeof apiWith>>["app"], method: string, body?: string, token = TOKEN) {
  return app.handle(
    new Request("http://broker.test/admin/api/revocations", {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body }),
    }),
  );
}

describe("admin API", () => {
  test("without [admin] api_token both routes answer 404 problem+json, whatever is presented", async () => {
    const { app } = await apiWith(undefined);
    for (const method of ["GET", "POST"]) {
      const response = await call(app, method, method === "POST" ? '{"login":"x"}' : undefined);
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  test("with it: 201 and the rule applies here at once; a token differing in one character is 401", async () => {
    const { app, revocations, logger } = await apiWith(new Secret(TOKEN));
    const created = await call(app, "POST", '{"login":"login-1"}');
    expect(created.status).toBe(201);
    const rule = (await created.json()) as Record<string, unknown>;
    expect(rule).toMatchObject({ login: "login-1", by: "api", upstream: { outcome: "skipped" } });
    expect(revocations.list.rules.map((known) => known.id)).toEqual([rule.id as string]);
    expect((await call(app, "POST", '{"login":"login-2"}', `${TOKEN.slice(0, -1)}u`)).status).toBe(401);
    const listed = (await (await call(app, "GET")).json()) as { revocations: unknown[] };
    expect(listed.revocations).toHaveLength(1);
    expect(logger.lines.join("\n")).not.toContain(TOKEN);
  });
});

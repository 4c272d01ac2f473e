import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMemoryAccessStore } from "../../../src/broker/rendezvous/access-memory.ts";
import { startRevocationSync } from "../../../src/broker/rendezvous/revocation-sync.ts";
import { Secret } from "../../../src/core/secret.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { adminApiRoutes } from "../../../src/web-port/admin/api.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { cli } from "./io.ts";

const TOKEN = "cli-test-admin-token-0123456789abcdef";
let server: ReturnType<typeof Bun.serve>;
let web = "";
let sync: Awaited<ReturnType<typeof startRevocationSync>>;

beforeAll(async () => {
  const logins = createMemoryAccessStore();
  const logger = createMemoryLogger();
  sync = await startRevocationSync(logins, { now: Date.now, logger });
  const keys = await testKeySets();
  const app = adminApiRoutes({
    apiToken: new Secret(TOKEN),
    revocations: sync,
    logins,
    providers: new Map([["github", {} as never]]),
    keys: () => keys,
    now: Date.now,
    logger,
  });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.handle(request) });
  web = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  sync.close();
  server.stop(true);
});

const env = { SURROGATE_ADMIN_TOKEN: TOKEN };

describe("surrogate revoke", () => {
  test("each scope creates its rule; --list shows them", async () => {
    for (const args of [
      ["--login", "sid-1"],
      ["--workload", "spiffe://corp.example/agents/*"],
      ["--sub", "alice", "--provider", "github"],
      ["--provider", "github"],
    ]) {
      const result = await cli(["revoke", ...args, "--web", web], { env });
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(result.stdout).toStartWith("revoked ");
    }
    expect(sync.list.rules).toHaveLength(4);
    const listed = await cli(["revoke", "--list", "--web", web], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split("\n")).toHaveLength(4);
    expect(listed.stdout).toContain("login=sid-1");
    expect(listed.stdout).toContain("sub=alice provider=github");
  });

  test("the token only from the environment; a wrong one is refused with the API's reason", async () => {
    expect((await cli(["revoke", "--provider", "github", "--web", web])).code).toBe(1);
    const wrong = await cli(["revoke", "--provider", "github", "--web", web], {
      env: { SURROGATE_ADMIN_TOKEN: "wrong" },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("refused (401)");
    expect(
      (await cli(["revoke", "--provider", "github", "--web", web, "--token", TOKEN], { env })).code,
    ).toBe(2);
  });

  test("usage errors: no scope, two scopes, --sub alone, --list with a scope, plain http to a remote host", async () => {
    for (const args of [
      ["--web", web],
      ["--login", "a", "--workload", "b", "--web", web],
      ["--sub", "alice", "--web", web],
      ["--list", "--login", "a", "--web", web],
      ["--provider", "github", "--web", "http://broker.example.com"],
      ["--provider", "github"],
    ]) {
      expect({ args, code: (await cli(["revoke", ...args], { env })).code }).toEqual({ args, code: 2 });
    }
  });

  test("an unknown provider is the API's 400, said plainly", async () => {
    const result = await cli(["revoke", "--provider", "nope", "--web", web], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not configured");
  });
});

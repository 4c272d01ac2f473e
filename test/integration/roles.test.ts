/**
 * `surrogate serve --role`: what each role opens and refuses, in process (startSurrogate) with the
 * configuration loaded by the real loader.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseRole } from "../../src/app/role.ts";
import { startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { agentFetch, deploymentDir, instanceConfig, writeDeployment } from "../helpers/process.ts";

let pki: TestPki;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let configText: (signing?: string) => string;

beforeAll(async () => {
  [pki, dir] = await Promise.all([testPki(), deploymentDir()]);
  const written = await writeDeployment(pki, dir);
  configText = (signing = written.signing) =>
    instanceConfig({ ...written, issuer: "https://broker.roles.test", signing, upstreams: ["127.0.0.1:9"] });
});
afterAll(() => dir.remove());

const start = async (role: "broker" | "proxy" | "all", signing?: string) =>
  startSurrogate(await parseConfig(configText(signing), {}), { env: {}, logger: createMemoryLogger(), role });

describe("serve --role", () => {
  test("broker: web port and agent API, proxy paths answer 404 not_found", async () => {
    const running = await start("broker");
    try {
      expect(running.webPort).toBeNumber();
      const proxied = await agentFetch(running.agentPort, "/127.0.0.1:9/x", pki.alpha, pki.ca.certPem);
      expect(proxied.status).toBe(404);
      expect(((await proxied.json()) as { code: string }).code).toBe("not_found");
      const api = await agentFetch(running.agentPort, "/v1/token", pki.alpha, pki.ca.certPem, {
        method: "POST",
      });
      expect(api.status).toBe(400);
      expect((await fetch(`http://127.0.0.1:${running.webPort}/healthz`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });

  test("proxy: no web port, the agent API answers 404 invalid_request, proxy paths are served", async () => {
    const running = await start("proxy");
    try {
      expect(running.webPort).toBeUndefined();
      const api = await agentFetch(running.agentPort, "/v1/grants", pki.alpha, pki.ca.certPem, {
        method: "POST",
      });
      expect(api.status).toBe(404);
      expect(((await api.json()) as { error: string }).error).toBe("invalid_request");
      const proxied = await agentFetch(running.agentPort, "/127.0.0.1:9/x", pki.alpha, pki.ca.certPem);
      expect(((await proxied.json()) as { code: string }).code).toBe("missing_token");
    } finally {
      await running.stop();
    }
  });

  test.each(["broker", "all"] as const)("%s refuses a jwks: signing source (it must sign)", async (role) => {
    const attempt = start(role, "jwks:https://broker.example/.well-known/jwks.json");
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow("keys.signing");
  });

  test("an unknown role is a ConfigError naming --role", () => {
    expect(() => parseRole("proxies")).toThrow("--role");
    expect(parseRole("proxy")).toBe("proxy");
  });
});

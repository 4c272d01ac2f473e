/**
 * What a `serve --role proxy` process loads (issue #16, peak RSS): the serve command and the proxy,
 * not the other commands, the broker's IdP client (arctic), the grant stores, the web port (Elysia,
 * the pages) or certificate generation. Each instance is started in a fresh `bun` process, so the
 * module registry it prints holds only what that start-up loaded.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { resolve } from "node:path";
import { testPki } from "../helpers/pki.ts";
import { deploymentDir, instanceConfig, writeDeployment } from "../helpers/process.ts";

const ROOT = resolve(import.meta.dir, "../..");

/** Code only the broker roles, other commands or certificate generation use. */
const BROKER_ONLY = [
  /\/node_modules\/(arctic|elysia|@elysiajs|@kitajs|uqr|@peculiar)\//,
  /\/src\/(web-port|dev|companion)\//,
  /\/ui\//,
  /\/src\/broker\/(agent-api|providers\/oauth-client|providers\/discovery|rendezvous\/memory|rendezvous\/redis)\.ts$/,
  /\/src\/cli\/(dev|login|run-command|agent-command|admin|keys|qr)\.ts$/,
];

let dir: Awaited<ReturnType<typeof deploymentDir>>;

beforeAll(async () => {
  const [pki, made] = await Promise.all([testPki(), deploymentDir()]);
  dir = made;
  const written = await writeDeployment(pki, dir);
  const base = { ...written, issuer: "https://broker.modules.test", upstreams: ["127.0.0.1:9"] };
  // An OIDC provider whose issuer nobody answers: the proxy role must neither contact nor load its client.
  const idp = { issuer: "https://idp.modules.test", clientId: "surrogate" };
  await Bun.write(dir.path("proxy.toml"), instanceConfig({ ...base, idp }));
  await Bun.write(dir.path("all.toml"), instanceConfig(base));
});
afterAll(() => dir.remove());

/** Loads the serve command as `surrogate serve` does, starts the role, and lists the loaded modules. */
async function modulesOf(role: "proxy" | "all", config: string): Promise<string[]> {
  const script = `const { COMMANDS } = await import("./src/cli/commands.ts");
await COMMANDS.find((entry) => entry.name === "serve").load();
const { startSurrogate } = await import("./src/app/serve.ts");
const { loadConfig } = await import("./src/core/config/load.ts");
const { createMemoryLogger } = await import("./src/ops/log/logger.ts");
const config = await loadConfig(${JSON.stringify(config)}, { STUB_SECRET: "s" });
const running = await startSurrogate(config, { env: {}, logger: createMemoryLogger(), role: ${JSON.stringify(role)} });
console.log(JSON.stringify(Object.keys(require.cache)));
await running.stop();`;
  const child = Bun.spawn(["bun", "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  return JSON.parse(out) as string[];
}

const brokerOnly = (modules: string[]) =>
  modules.filter((path) => BROKER_ONLY.some((pattern) => pattern.test(path)));

test("--role proxy loads no broker, web port, other command or certificate-generation code", async () => {
  const modules = await modulesOf("proxy", dir.path("proxy.toml"));
  expect(modules.some((path) => path.endsWith("/src/proxy/handler.ts"))).toBe(true);
  expect(brokerOnly(modules)).toEqual([]);
});

test("--role all does load the web port and the grant store (the check above can fail)", async () => {
  const modules = await modulesOf("all", dir.path("all.toml"));
  const loaded = brokerOnly(modules);
  expect(loaded.some((path) => path.includes("/node_modules/elysia/"))).toBe(true);
  expect(loaded.some((path) => path.endsWith("/src/broker/rendezvous/memory.ts"))).toBe(true);
});

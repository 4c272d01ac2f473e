/**
 * `surrogate serve` stopping at start-up: each failure names the config key, the file or address,
 * and why, and nothing is left listening.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { deploymentDir, type InstanceConfig, instanceConfig, writeDeployment } from "../helpers/process.ts";
import { cli } from "../unit/cli/io.ts";

let pki: TestPki;
let dir: Awaited<ReturnType<typeof deploymentDir>>;
let written: Pick<InstanceConfig, "pki" | "signing" | "encryption">;
let files: InstanceConfig["pki"];

beforeAll(async () => {
  [pki, dir] = await Promise.all([testPki(), deploymentDir()]);
  written = await writeDeployment(pki, dir);
  files = written.pki;
  await Bun.write(dir.path("other.key"), pki.alpha.keyPem);
});
afterAll(() => dir.remove());

interface Variant {
  cert?: string;
  key?: string;
  web?: string;
  agent?: string;
}

function configText(variant: Variant = {}): string {
  const text = instanceConfig({
    ...written,
    issuer: "https://broker.start.test",
    pki: { cert: variant.cert ?? files.cert, key: variant.key ?? files.key, ca: files.ca },
    upstreams: ["127.0.0.1:9"],
  });
  // instanceConfig writes [web] listen first, then [agent] listen.
  return text
    .replace('listen = "127.0.0.1:0"', `listen = "${variant.web ?? "127.0.0.1:0"}"`)
    .replace(/(\[agent\]\nlisten = )"127\.0\.0\.1:0"/, `$1"${variant.agent ?? "127.0.0.1:0"}"`);
}

async function startFailure(variant: Variant): Promise<ConfigError> {
  const config = await parseConfig(configText(variant), {});
  const error = await startSurrogate(config, { env: {}, logger: createMemoryLogger() }).then(
    async (running) => {
      await running.stop();
      throw new Error("started");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("a port already in use names the key and the address", () => {
  test("agent.listen", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const error = await startFailure({ agent: `127.0.0.1:${taken.port}` });
      expect(error.message).toBe(`agent.listen: 127.0.0.1:${taken.port} is already in use`);
    } finally {
      taken.stop(true);
    }
  });

  test("web.listen, and the agent port it had opened is released", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const free = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const agentPort = free.port;
    free.stop(true);
    try {
      const error = await startFailure({ web: `127.0.0.1:${taken.port}`, agent: `127.0.0.1:${agentPort}` });
      expect(error.message).toBe(`web.listen: 127.0.0.1:${taken.port} is already in use`);
      const again = Bun.listen({ hostname: "127.0.0.1", port: agentPort, socket: { data() {} } });
      again.stop(true);
    } finally {
      await taken.stop(true);
    }
  });

  test("surrogate serve prints it with its code", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const config = dir.path("in-use.toml");
      await Bun.write(config, configText({ agent: `127.0.0.1:${taken.port}` }));
      const result = await cli(["serve", "--config", config]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `surrogate serve: agent.listen: 127.0.0.1:${taken.port} is already in use (config_invalid)\n`,
      );
    } finally {
      taken.stop(true);
    }
  });
});

describe("TLS files: the key, the path and why", () => {
  test("a key that is not the certificate's", async () => {
    const error = await startFailure({ key: dir.path("other.key") });
    expect(error.message).toBe(
      `agent.tls_key: ${dir.path("other.key")} does not match the certificate in agent.tls_cert (${files.cert})`,
    );
  });

  test("the key file given as the certificate", async () => {
    const error = await startFailure({ cert: files.key });
    expect(error.message).toBe(`agent.tls_cert: ${files.key} holds a private key, not a certificate`);
  });

  test("the certificate given as the key", async () => {
    const error = await startFailure({ key: files.cert });
    expect(error.message).toBe(`agent.tls_key: ${files.cert} holds a certificate, not a private key`);
  });

  test("a missing file", async () => {
    const error = await startFailure({ cert: dir.path("absent.pem") });
    expect(error.message).toBe(
      `agent.tls_cert: cannot read ${dir.path("absent.pem")}: no such file or directory (ENOENT)`,
    );
  });

  test("a directory", async () => {
    const error = await startFailure({ key: dir.dir });
    expect(error.message).toBe(`agent.tls_key: ${dir.dir} is not a regular file`);
  });

  test("web.tls_key that does not match web.tls_cert", async () => {
    const text = configText().replace(
      '[web]\nlisten = "127.0.0.1:0"',
      `[web]\nlisten = "127.0.0.1:0"\ntls_cert = ${JSON.stringify(files.cert)}\ntls_key = ${JSON.stringify(dir.path("other.key"))}`,
    );
    const error = await startSurrogate(await parseConfig(text, {}), {
      env: {},
      logger: createMemoryLogger(),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `web.tls_key: ${dir.path("other.key")} does not match the certificate in web.tls_cert (${files.cert})`,
    );
  });
});

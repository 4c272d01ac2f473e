import { type AgentServer, startAgentServer } from "./agent/server.ts";
import { createApp } from "./app.ts";
import type { Config, Env } from "./config/types.ts";
import { ConfigError } from "./errors.ts";
import { loadKeySets } from "./keys/load.ts";
import type { KeySets } from "./keys/types.ts";
import type { Logger } from "./log/logger.ts";
import { resolveProviders } from "./providers/registry.ts";
import { openStore } from "./rendezvous/open.ts";

export interface ServeOptions {
  env: Env;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface RunningSurrogate {
  webPort: number;
  agentPort: number;
  /** Re-reads the key sets and the agent port's certificate, key and client CA bundle. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts both ports from a validated configuration. Everything that can fail on bad input (key sets,
 * TLS material, provider discovery, the rendezvous URL) is loaded before anything listens, so a bad
 * deployment stops at start-up instead of failing its first request.
 */
export async function startSurrogate(config: Config, options: ServeOptions): Promise<RunningSurrogate> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let keys: KeySets = await loadKeySets(config.keys, options.env);
  const tls = await readAgentTls(config);
  const upstreamCa = config.agent.upstreamCa
    ? await readPem(config.agent.upstreamCa, "agent.upstream_ca")
    : undefined;
  const providers = await resolveProviders(config, { fetch: fetchImpl, now });
  const store = await openStore(config.rendezvous.url, config.rendezvous);
  const app = createApp(config, {
    providers,
    store,
    keys: () => keys,
    fetch: fetchImpl,
    now,
    logger: options.logger,
    ...(upstreamCa === undefined ? {} : { upstreamCa }),
  });

  const agent: AgentServer = await startAgentServer({
    host: config.agent.listen.host,
    port: config.agent.listen.port,
    ...tls,
    handler: app.agent,
    limits: config.agent,
    logger: options.logger,
    now,
  });
  // Elysia's own listen, so route handlers see the Bun server (peer address for guess limiting).
  app.web.listen({
    hostname: config.web.listen.host,
    port: config.web.listen.port,
    ...(await webTls(config)),
  });
  const web = app.web.server;
  if (web === null) throw new ConfigError("web.listen", "the web port did not start");
  options.logger.info("surrogate.listening", { web: web.port, agent: agent.port, rendezvous: store.backend });

  return {
    webPort: web.port ?? config.web.listen.port,
    agentPort: agent.port,
    async reload() {
      const fresh = await loadKeySets(config.keys, options.env);
      const material = await readAgentTls(config);
      agent.reloadTls(material.certPem, material.keyPem, material.clientCaPem);
      keys = fresh;
      options.logger.info("surrogate.reloaded", {
        signing: fresh.signer?.kid,
        encryption: fresh.encrypter.kid,
      });
    },
    async stop() {
      await agent.close();
      await app.web.stop();
      await store.close();
    },
  };
}

async function readAgentTls(config: Config) {
  return {
    certPem: await readPem(config.agent.tlsCert, "agent.tls_cert"),
    keyPem: await readPem(config.agent.tlsKey, "agent.tls_key"),
    clientCaPem: await readPem(config.agent.clientCa, "agent.client_ca"),
  };
}

async function webTls(config: Config) {
  const { tlsCert, tlsKey } = config.web;
  if (tlsCert === undefined || tlsKey === undefined) return {};
  return { tls: { cert: await readPem(tlsCert, "web.tls_cert"), key: await readPem(tlsKey, "web.tls_key") } };
}

const MAX_PEM_BYTES = 1024 * 1024;

async function readPem(path: string, key: string): Promise<string> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError(key, `${path} does not exist`);
  if (file.size > MAX_PEM_BYTES) throw new ConfigError(key, `${path} is larger than 1 MiB`);
  const text = await file.text();
  if (!text.includes("-----BEGIN ")) throw new ConfigError(key, `${path} is not PEM`);
  return text;
}

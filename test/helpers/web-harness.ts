import type { AgentHandler } from "../../src/agent-port/http1/types.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import { resolveProviders } from "../../src/broker/providers/registry.ts";
import { createMemoryStore } from "../../src/broker/rendezvous/memory.ts";
import type { RendezvousStore, StoreLimits } from "../../src/broker/rendezvous/store.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import type { Config } from "../../src/core/config/types.ts";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import type { ResolvedProvider } from "../../src/core/provider/types.ts";
import { createMemoryLogger, type Logger } from "../../src/ops/log/logger.ts";
import { createWebApp } from "../../src/web-port/consent/app.ts";
import { formRequest } from "./agent-request.ts";
import { testKeySets } from "./keys.ts";
import { testPki } from "./pki.ts";

export interface HarnessDeps {
  config: Config;
  providers: Map<string, ResolvedProvider>;
  store: RendezvousStore;
  keys: () => KeySets;
  now: () => number;
  logger: Logger;
}

interface WebHandler {
  handle(request: Request): Promise<Response>;
}

export interface WebHarness {
  issuer: string;
  config: Config;
  keys: KeySets;
  /** Every line logged by the broker and the web pages. */
  sink: ReturnType<typeof createMemoryLogger>;
  /** The agent API as the alpha workload would call it (form POST, no TLS). */
  agent: (target: string, form: Record<string, string>, extra?: Record<string, string>) => Promise<Response>;
  close: () => Promise<void>;
}

export interface WebHarnessOptions {
  /** Builds the configuration once the issuer (and so the redirect URI) is known. */
  configure: (issuer: string) => Promise<Config>;
  storeLimits?: StoreLimits;
  /** Wraps the sink logger (e.g. with the metrics observer). */
  observe?: (sink: Logger, providers: ReadonlyMap<string, ResolvedProvider>) => Logger;
  /** Extends the web app (e.g. mounts the admin plugin); what it returns serves the requests. */
  extend?: (app: ReturnType<typeof createWebApp>, deps: HarnessDeps) => WebHandler;
  /** Released after the server and the store. */
  release?: () => Promise<unknown>;
}

/**
 * The broker's web port on a real socket, with the agent API beside it, over one set of real
 * dependencies (memory store, fresh keys, the memory logger). The port is bound first so the
 * issuer is known when the configuration, and the stub IdPs' redirect URIs, are made.
 */
export async function startWebHarness(options: WebHarnessOptions): Promise<WebHarness> {
  let handle: (request: Request) => Promise<Response> = async () => new Response("starting", { status: 503 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handle(request) });
  const issuer = `http://127.0.0.1:${server.port}`;
  const config = await options.configure(issuer);
  const providers = await resolveProviders(config, { fetch, now: Date.now });
  const store = createMemoryStore(options.storeLimits ?? { maxPendingPerWorkload: 5, maxPendingTotal: 100 });
  const keys = await testKeySets();
  const sink = createMemoryLogger();
  const logger = options.observe?.(sink, providers) ?? sink;
  const deps: HarnessDeps = { config, providers, store, keys: () => keys, now: Date.now, logger };
  const app: WebHandler = options.extend?.(createWebApp(deps), deps) ?? createWebApp(deps);
  handle = (request) => app.handle(request);
  const api: AgentHandler = createAgentApi({
    ...deps,
    policy: new PolicyGate(config.policy),
    revocations: new RevocationList(),
  });
  const client = describeCertificate((await testPki()).alpha.der);
  return {
    issuer,
    config,
    keys,
    sink,
    agent: (target, form, extra = {}) => api(formRequest(client, target, form, extra)),
    close: async () => {
      await server.stop(true);
      await store.close();
      await options.release?.();
    },
  };
}

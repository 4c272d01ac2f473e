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
import { Observer } from "../../src/ops/metrics/observer.ts";
import { createWebPort } from "../../src/web-port/port.ts";
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

export interface WebHarness {
  issuer: string;
  config: Config;
  keys: KeySets;
  /** Every line logged by the broker and the web pages. */
  sink: ReturnType<typeof createMemoryLogger>;
  /** The sink as the metrics observer sees it (what the web port logs to). */
  logger: Logger;
  observer: Observer;
  /** The agent API as the alpha workload would call it (form POST, no TLS). */
  agent: (target: string, form: Record<string, string>, extra?: Record<string, string>) => Promise<Response>;
  /** The agent API as another workload (a certificate's DER). */
  agentAs: (der: Uint8Array, target: string, form: Record<string, string>) => Promise<Response>;
  close: () => Promise<void>;
}

export interface WebHarnessOptions {
  /** Builds the configuration once the issuer (and so the redirect URI) is known. */
  configure: (issuer: string) => Promise<Config>;
  storeLimits?: StoreLimits;
  /** Shown on the admin overview. */
  instance?: string;
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
  const observer = new Observer({ providers, now: Date.now });
  const logger = observer.observe(sink);
  const deps: HarnessDeps = { config, providers, store, keys: () => keys, now: Date.now, logger };
  const app = createWebPort(
    config,
    { ...deps, fetch, instance: options.instance ?? "test-instance" },
    observer,
  );
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
    logger,
    observer,
    agent: (target, form, extra = {}) => api(formRequest(client, target, form, extra)),
    agentAs: (der, target, form) => api(formRequest(describeCertificate(der), target, form)),
    close: async () => {
      await server.stop(true);
      await store.close();
      await options.release?.();
    },
  };
}

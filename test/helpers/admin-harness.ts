/**
 * A whole web port on a real socket — consent pages plus the admin plugin, composed as in
 * src/app.ts — with the real agent API called in-process over a real client certificate identity,
 * the real stub IdP, an observed memory logger, and a password-protected admin. For flow tests
 * (browser and canary) that need everything at once.
 */
import { createAdminApp } from "../../src/admin/app.ts";
import { createAgentApi } from "../../src/broker/agent-api.ts";
import type { Config } from "../../src/config/types.ts";
import { describeCertificate } from "../../src/identity/certificate.ts";
import type { KeySets } from "../../src/keys/types.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { Observer } from "../../src/metrics/observer.ts";
import { resolveProviders } from "../../src/providers/registry.ts";
import { createMemoryStore } from "../../src/rendezvous/memory.ts";
import { Secret } from "../../src/secret.ts";
import { createWebApp } from "../../src/web/app.ts";
import { stubProviderConfig, webConfig } from "../unit/web/fixtures.ts";
import { formRequest } from "./agent-request.ts";
import { testKeySets } from "./keys.ts";
import { testPki } from "./pki.ts";
import { type StubIdp, type StubIdpOptions, startStubIdp } from "./stub-idp.ts";

export interface AdminHarness {
  issuer: string;
  idp: StubIdp;
  keys: KeySets;
  config: Config;
  sink: ReturnType<typeof createMemoryLogger>;
  logger: ReturnType<Observer["observe"]>;
  observer: Observer;
  /** A form POST to the agent API as the `alpha` workload. */
  agent(target: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startAdminHarness(options: {
  password: string;
  idp?: StubIdpOptions;
  allow?: string[];
}): Promise<AdminHarness> {
  let handle: (request: Request) => Promise<Response> = async () => new Response("starting", { status: 503 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handle(request) });
  const issuer = `http://127.0.0.1:${server.port}`;
  const idp = await startStubIdp({
    redirectUris: [`${issuer}/callback`, `${issuer}/admin/callback`],
    ...options.idp,
  });
  const passwordHash = new Secret(
    await Bun.password.hash(options.password, { algorithm: "bcrypt", cost: 4 }),
  );
  const config: Config = {
    ...webConfig(issuer, {
      stub: stubProviderConfig(idp, { scopes: ["openid", "email", "offline_access"] }),
    }),
    admin: {
      passwordHash,
      provider: "stub",
      allow: options.allow ?? ["alice@stub.example"],
      sessionIdle: 900,
    },
  };
  const providers = await resolveProviders(config, { fetch, now: Date.now });
  const store = createMemoryStore({ maxPendingPerWorkload: 5, maxPendingTotal: 100 });
  const keys = await testKeySets();
  const sink = createMemoryLogger();
  const observer = new Observer({ providers, now: Date.now });
  const logger = observer.observe(sink);
  const deps = { config, providers, store, keys: () => keys, now: Date.now, logger };
  const startedAt = Date.now();
  const app = createWebApp(deps).use(
    createAdminApp({ ...deps, fetch, observer, instance: "browser-test", startedAt }),
  );
  handle = (request) => app.handle(request);
  const api = createAgentApi(deps);
  const client = describeCertificate((await testPki()).alpha.der);
  const agent = (target: string, form: Record<string, string>, extra: Record<string, string> = {}) =>
    api(formRequest(client, target, form, extra));
  return {
    issuer,
    idp,
    keys,
    config,
    sink,
    logger,
    observer,
    agent,
    close: async () => {
      await server.stop(true);
      await idp.close();
      await store.close();
    },
  };
}

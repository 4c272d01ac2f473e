/**
 * The whole web port (src/web-port/port.ts: consent and admin), with a real memory store,
 * real keys, an observed memory logger and the real stub IdP as admin provider. Requests go through
 * `app.handle` with cookies passed by hand.
 */

import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import { createMemoryAccessStore } from "../../../../src/broker/rendezvous/access-memory.ts";
import { createMemoryStore } from "../../../../src/broker/rendezvous/memory.ts";
import { startRevocationSync } from "../../../../src/broker/rendezvous/revocation-sync.ts";
import type { AdminConfig, Config } from "../../../../src/core/config/types.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { createMemoryLogger } from "../../../../src/ops/log/logger.ts";
import { Observer } from "../../../../src/ops/metrics/observer.ts";
import { createWebPort } from "../../../../src/web-port/port.ts";
import { testKeySets } from "../../../helpers/keys.ts";
import { startStubIdp } from "../../../helpers/stub-idp.ts";
import { cookieSender, stubProviderConfig, webConfig } from "../fixtures.ts";

export const PASSWORD = "correct horse battery staple";

export function cookieJar(response: Response, jar: Record<string, string> = {}): Record<string, string> {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const eq = pair.indexOf("=");
    const value = pair.slice(eq + 1);
    if (/Max-Age=0/.test(line)) delete jar[pair.slice(0, eq)];
    else jar[pair.slice(0, eq)] = value;
  }
  return jar;
}

export async function adminFixture(
  options: {
    admin?: Partial<AdminConfig> | false;
    issuer?: string;
    metricsBearer?: string;
    agentListening?: () => boolean;
    /** Revocations and recent logins in memory (the Access page). */
    access?: boolean;
  } = {},
) {
  const idp = await startStubIdp();
  const issuer = options.issuer ?? "https://broker.test.example";
  const clock = { offset: 0 };
  const now = () => Date.now() + clock.offset;
  const base = webConfig(issuer, { stub: stubProviderConfig(idp) });
  const passwordHash = new Secret(await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: 4 }));
  const config: Config = {
    ...base,
    ...(options.admin === false
      ? {}
      : {
          admin: {
            passwordHash,
            provider: "stub",
            allow: ["sub:nobody"],
            sessionIdle: 900,
            ...options.admin,
          },
        }),
    ...(options.metricsBearer === undefined
      ? {}
      : { metrics: { bearer: new Secret(options.metricsBearer) } }),
  };
  const providers = await resolveProviders(config, { fetch, now });
  const store = createMemoryStore({ maxPendingPerWorkload: 5, maxPendingTotal: 1000 });
  const keys = await testKeySets();
  const sink = createMemoryLogger();
  const observer = new Observer({ providers, now });
  const logger = observer.observe(sink);
  const accessStore = createMemoryAccessStore();
  const revocations = await startRevocationSync(accessStore, { now, logger });
  const app = createWebPort(
    config,
    {
      providers,
      store,
      keys: () => keys,
      fetch,
      now,
      logger,
      instance: "test-instance",
      clientAddress: () => "198.51.100.7",
      ...(options.agentListening === undefined ? {} : { agentListening: options.agentListening }),
      ...(options.access === true ? { access: { store: accessStore, revocations } } : {}),
    },
    observer,
  );
  const send = cookieSender(app, issuer);
  const post = (path: string, form: Record<string, string>, jar: Record<string, string> = {}) =>
    send(
      path,
      {
        method: "POST",
        body: new URLSearchParams(form).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      },
      jar,
    );
  /** Password login; returns the browser's cookies (CSRF + session). */
  const login = async (password = PASSWORD) => {
    const jar: Record<string, string> = {};
    const page = await send("/admin/login", {}, jar);
    cookieJar(page, jar);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const response = await post("/admin/login", { csrf, password }, jar);
    cookieJar(response, jar);
    return { jar, response };
  };
  return {
    idp,
    issuer,
    config,
    store,
    keys,
    sink,
    logger,
    observer,
    clock,
    now,
    app,
    accessStore,
    revocations,
    send,
    post,
    login,
    close: async () => {
      revocations.close();
      await idp.close();
      await store.close();
    },
  };
}

export type AdminFixture = Awaited<ReturnType<typeof adminFixture>>;

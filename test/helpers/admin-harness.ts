/**
 * A whole web port on a real socket — consent pages plus the admin plugin, composed as in
 * src/app.ts — with the real agent API called in-process over a real client certificate identity,
 * the real stub IdP, an observed memory logger, and a password-protected admin. For flow tests
 * (browser and canary) that need everything at once.
 */

import { Secret } from "../../src/core/secret.ts";
import type { Logger } from "../../src/ops/log/logger.ts";
import { Observer } from "../../src/ops/metrics/observer.ts";
import { createAdminApp } from "../../src/web-port/admin/app.ts";
import { stubProviderConfig, webConfig } from "../unit/web-port/fixtures.ts";
import { type StubIdp, type StubIdpOptions, startStubIdp } from "./stub-idp.ts";
import { startWebHarness, type WebHarness } from "./web-harness.ts";

export interface AdminHarness extends WebHarness {
  idp: StubIdp;
  logger: Logger;
  observer: Observer;
}

export async function startAdminHarness(options: {
  password: string;
  idp?: StubIdpOptions;
  allow?: string[];
}): Promise<AdminHarness> {
  let idp: StubIdp | undefined;
  let observer: Observer | undefined;
  let logger: Logger | undefined;
  const web = await startWebHarness({
    configure: async (issuer) => {
      idp = await startStubIdp({
        redirectUris: [`${issuer}/callback`, `${issuer}/admin/callback`],
        ...options.idp,
      });
      const passwordHash = new Secret(
        await Bun.password.hash(options.password, { algorithm: "bcrypt", cost: 4 }),
      );
      return {
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
    },
    observe: (sink, providers) => {
      observer = new Observer({ providers, now: Date.now });
      logger = observer.observe(sink);
      return logger;
    },
    extend: (app, deps) =>
      app.use(
        createAdminApp({
          ...deps,
          fetch,
          observer: observer!,
          instance: "browser-test",
          startedAt: Date.now(),
        }),
      ),
    release: async () => idp?.close(),
  });
  return { ...web, idp: idp!, observer: observer!, logger: logger! };
}

/**
 * A whole web port on a real socket — consent pages plus the admin plugin, composed as in
 * src/web-port/port.ts — with the real agent API called in-process over a real client certificate identity,
 * the real stub IdP, an observed memory logger, and a password-protected admin. For flow tests
 * (browser and canary) that need everything at once.
 */

import { Secret } from "../../src/core/secret.ts";
import { stubProviderConfig, webConfig } from "../unit/web-port/fixtures.ts";
import { type StubIdp, type StubIdpOptions, startStubIdp } from "./stub-idp.ts";
import { startWebHarness, type WebHarness } from "./web-harness.ts";

export interface AdminHarness extends WebHarness {
  idp: StubIdp;
}

export async function startAdminHarness(options: {
  password: string;
  idp?: StubIdpOptions;
  allow?: string[];
}): Promise<AdminHarness> {
  let idp: StubIdp | undefined;
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
    instance: "browser-test",
    release: async () => idp?.close(),
  });
  return { ...web, idp: idp! };
}

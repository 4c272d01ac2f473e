/**
 * The web port: consent pages for people and the operator view (`/admin`, `/readyz`, `/metrics`) on
 * one Elysia app. Its composition: the shared plugins (html pages, security headers, unparsed
 * bodies), one error hook, and one narrow context per part, built here from the configuration so no
 * handler sees the whole of it.
 */
import { hostname } from "node:os";
import { Elysia } from "elysia";
import type { AccessStore } from "../broker/rendezvous/access-store.ts";
import type { RevocationSync } from "../broker/rendezvous/revocation-sync.ts";
import type { RendezvousStore } from "../broker/rendezvous/store.ts";
import type { RevokeDeps } from "../broker/revoke.ts";
import type { Config, ListenAddress } from "../core/config/types.ts";
import type { KeySets } from "../core/keys/types.ts";
import type { ResolvedProvider } from "../core/provider/types.ts";
import type { Logger } from "../ops/log/logger.ts";
import type { Observer } from "../ops/metrics/observer.ts";
import { lazyAdminProvider } from "./admin/admin-provider.ts";
import { adminApiRoutes } from "./admin/api.ts";
import { adminErrorResponse, adminRoutes } from "./admin/app.ts";
import type { AdminContext, HealthContext } from "./admin/context.ts";
import { GrantHistory } from "./admin/grant-history.ts";
import { IdpProbe } from "./admin/idp-status.ts";
import { KeyAges } from "./admin/key-ages.ts";
import { consentErrorPage, consentRoutes } from "./consent/app.ts";
import type { ConsentContext } from "./consent/context.ts";
import { clientAddressSource } from "./shared/client-address.ts";
import { secureCookies } from "./shared/cookies.ts";
import { createGuessLimiter } from "./shared/guess-limiter.ts";
import { isAdminPath } from "./shared/headers.ts";
import { webPlugins } from "./shared/plugins.ts";
import { cryptoRandomBytes, type RandomBytes } from "./shared/random.ts";

export type WebPort = ReturnType<typeof createWebPort>;

/** What the web port needs from the process: the composition root (src/app) passes it in. */
export interface WebPortDeps {
  providers: ReadonlyMap<string, ResolvedProvider>;
  store: RendezvousStore;
  keys: () => KeySets;
  fetch: typeof fetch;
  now: () => number;
  /** The observed logger (src/ops/metrics/observer.ts). */
  logger: Logger;
  instance?: string;
  agentListening?: () => boolean;
  /** CSPRNG; injectable for tests. */
  randomBytes?: RandomBytes;
  /** Replaces the client address (shared/client-address.ts) in tests without a socket. */
  clientAddress?: (request: Request) => string | undefined;
  /** Revocations and recent logins (issue #15); absent (tests of other parts), no admin API and no login record. */
  access?: { store: AccessStore; revocations: RevocationSync };
}

/** Five wrong passwords a minute per client address: enough for typos, useless for guessing. */
const PASSWORD_LIMITS = { maxMisses: 5, windowMs: 60_000, maxClients: 10_000 };

export function createWebPort(config: Config, deps: WebPortDeps, observer: Observer) {
  const consent = consentContext(config, deps);
  const health = healthContext(config, deps, observer);
  return new Elysia({ name: "surrogate-web-port" })
    .use(webPlugins(deps.providers))
    .onError(({ code, error, request, set }) =>
      isAdminPath(request)
        ? adminErrorResponse(deps.logger, error)
        : consentErrorPage(deps, set, code, error),
    )
    .use(consentRoutes(consent))
    .use(
      deps.access === undefined ? new Elysia() : adminApiRoutes(adminApiContext(config, deps, deps.access)),
    )
    .use(adminRoutes(health, adminContext(config, deps, health, consent)));
}

function adminApiContext(config: Config, deps: WebPortDeps, access: NonNullable<WebPortDeps["access"]>) {
  return { apiToken: config.admin?.apiToken, ...revokeDeps(deps, access) };
}

function revokeDeps(deps: WebPortDeps, access: NonNullable<WebPortDeps["access"]>): RevokeDeps {
  const { providers, keys, now, logger } = deps;
  return { revocations: access.revocations, logins: access.store, providers, keys, now, logger };
}

function consentContext(config: Config, deps: WebPortDeps): ConsentContext {
  const { providers, store, keys, now, logger } = deps;
  return {
    providers,
    store,
    keys,
    now,
    logger,
    ...(deps.access && { logins: deps.access.store }),
    issue: { issuer: config.issuer, tokenTtl: config.tokenTtl, refreshTtl: config.refreshTtl },
    secure: secureCookies(config.issuer),
    randomBytes: deps.randomBytes ?? cryptoRandomBytes,
    limiter: createGuessLimiter(),
    clientAddress: clientAddressSource(config.web.trustedProxies ?? [], deps.clientAddress),
  };
}

function healthContext(config: Config, deps: WebPortDeps, observer: Observer): HealthContext {
  const { store, keys, now, logger } = deps;
  return {
    store,
    keys,
    now,
    logger,
    observer,
    startedAt: now(),
    ...(deps.agentListening && { agentListening: deps.agentListening }),
    ...(config.metrics?.bearer && { metricsBearer: config.metrics.bearer }),
  };
}

function adminContext(
  config: Config,
  deps: WebPortDeps,
  health: HealthContext,
  consent: ConsentContext,
): AdminContext {
  return {
    ...health,
    // The pages need a way to sign in; `[admin]` with only api_token opens the API alone.
    admin: config.admin?.passwordHash || config.admin?.provider ? config.admin : undefined,
    instance: deps.instance ?? `${hostname()}:${process.pid}`,
    listening: {
      web: `${address(config.web.listen)} (${config.issuer})`,
      agent: address(config.agent.listen),
    },
    secure: consent.secure,
    randomBytes: consent.randomBytes,
    limiter: createGuessLimiter(PASSWORD_LIMITS),
    clientAddress: consent.clientAddress,
    idp: new IdpProbe(config, deps.fetch, deps.now),
    keyAges: new KeyAges(),
    history: new GrantHistory(),
    adminOAuth: lazyAdminProvider(config, deps),
    ...(deps.access && { access: revokeDeps(deps, deps.access) }),
  };
}

function address(listen: ListenAddress): string {
  return listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

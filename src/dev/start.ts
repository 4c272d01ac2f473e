import { type RunningSurrogate, startSurrogate } from "../app/serve.ts";
import { loadConfig } from "../core/config/load.ts";
import { resolveSecretRef } from "../core/config/secret-ref.ts";
import type { Env } from "../core/config/types.ts";
import { ConfigError } from "../core/errors.ts";
import type { Logger } from "../ops/log/logger.ts";
import { DEV_CLIENT_ID, DEV_HOST, type DevPorts, devIssuer } from "./config-text.ts";
import { type DemoIdp, startDemoIdp } from "./demo-idp.ts";
import { type DemoUpstream, startDemoUpstream } from "./demo-upstream.ts";
import { type DevWorkspace, prepareWorkspace } from "./workspace.ts";

export interface DevOptions {
  /** Absolute path of the workspace directory. */
  dir: string;
  ports: DevPorts;
  env: Env;
  logger: Logger;
  now?: () => number;
  /** `--admin`: the admin UI on, with a generated password. */
  admin?: boolean;
}

export interface RunningDev extends RunningSurrogate {
  workspace: DevWorkspace;
  idp: DemoIdp;
  upstream: DemoUpstream;
}

/**
 * Everything `surrogate dev` runs: the workspace, then the demo IdP and upstream (the broker's
 * start-up discovers the IdP, so it must already answer), then surrogate itself from the generated
 * surrogate.toml, exactly as `surrogate serve` would load it. A failure stops what had started.
 */
export async function startDev(options: DevOptions): Promise<RunningDev> {
  const workspace = await prepareWorkspace(options.dir, options.ports, options.now, options.admin === true);
  const secret = await resolveSecretRef(
    `file:${workspace.files.clientSecret}`,
    options.env,
    "providers.demo.client_secret",
  );
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const idp = await startDemoIdp({
      host: DEV_HOST,
      port: options.ports.idp,
      clientId: DEV_CLIENT_ID,
      clientSecret: secret,
      redirectUri: `${devIssuer(options.ports)}/callback`,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    stops.push(idp.stop);
    const upstream = startDemoUpstream({
      host: DEV_HOST,
      port: options.ports.upstream,
      certPem: await Bun.file(workspace.files.serverCert).text(),
      keyPem: await Bun.file(workspace.files.serverKey).text(),
    });
    stops.push(upstream.stop);
    const config = await loadConfig(workspace.configPath, options.env);
    const surrogate = await startSurrogate(config, {
      env: options.env,
      logger: options.logger,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    stops.push(surrogate.stop);
    return { ...surrogate, workspace, idp, upstream, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw portInUse(error, options.ports) ?? error;
  }
}

const PORT_FLAGS: Record<keyof DevPorts, string> = {
  web: "--web-port",
  agent: "--agent-port",
  idp: "--idp-port",
  upstream: "--upstream-port",
};

/** EADDRINUSE names a port (node:net as `port`, Bun.serve only in its message): say which flag moves it. */
function portInUse(failure: unknown, ports: DevPorts): ConfigError | undefined {
  // serve names agent.listen/web.listen (core/config/listen.ts); dev names the flag instead.
  const error = failure instanceof ConfigError && failure.cause !== undefined ? failure.cause : failure;
  if (typeof error !== "object" || error === null || !("code" in error) || error.code !== "EADDRINUSE")
    return undefined;
  const text = `${"port" in error ? `port ${String(error.port)}` : ""} ${error instanceof Error ? error.message : ""}`;
  const named = new Set([...text.matchAll(/(?:port |:)(\d+)/g)].map((match) => match[1]));
  const entry = Object.entries(ports).find(([, port]) => named.has(String(port)));
  if (entry === undefined) return undefined;
  const [name, port] = entry as [keyof DevPorts, number];
  return new ConfigError(
    PORT_FLAGS[name],
    `${DEV_HOST}:${port} is already in use (another surrogate dev?); choose a free port with ${PORT_FLAGS[name]}`,
  );
}

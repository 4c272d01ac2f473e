import { isIP } from "node:net";
import { ConfigError } from "../errors.ts";
import type { ListenAddress } from "./types.ts";

const HOST_AND_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * `host:port` or `[v6]:port`. The brackets are required for IPv6 so `::1:8080` cannot be read two
 * ways. Port 0 asks the OS for an ephemeral port (tests). The IPv6 host is returned without brackets,
 * as socket APIs expect it.
 */
export function parseListen(text: string, key: string): ListenAddress {
  const match = HOST_AND_PORT.exec(text);
  if (!match) throw new ConfigError(key, 'must be "host:port" or "[ipv6]:port"');
  const [, v6, name, portText] = match;
  const port = Number(portText);
  if (port > 65_535) throw new ConfigError(key, "port must be between 0 and 65535");
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) throw new ConfigError(key, `${v6} is not an IPv6 address`);
    return { host: v6, port };
  }
  if (name === undefined || !(isIP(name) === 4 || HOSTNAME.test(name))) {
    throw new ConfigError(key, "host must be an IPv4 address, a hostname or a bracketed IPv6 address");
  }
  return { host: name, port };
}

/** `127.0.0.1:8443`, `[::1]:8443`: the address as it is written in the configuration. */
export function formatListen(address: ListenAddress): string {
  return `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "is already in use",
  EACCES: "needs privileges this process lacks (ports below 1024)",
  EADDRNOTAVAIL: "is not an address of this machine",
};

/**
 * A port that could not be opened, named by its key and address (`agent.listen: 127.0.0.1:8443 is
 * already in use`). Bun reports EADDRINUSE as "Failed to listen at 127.0.0.1", naming neither.
 */
export function listenError(error: unknown, key: string, address: ListenAddress): ConfigError {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const reason = LISTEN_REASONS[code] ?? `could not be opened${code === "" ? "" : ` (${code})`}`;
  return new ConfigError(key, `${formatListen(address)} ${reason}`, { cause: error });
}

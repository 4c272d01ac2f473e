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

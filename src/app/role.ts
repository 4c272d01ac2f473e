import { ConfigError } from "../core/errors.ts";

/**
 * What one `surrogate serve` process runs (DESIGN §3): `broker` (web port and the agent API),
 * `proxy` (the swapping proxy only, so it can run next to agents) or `all`.
 */
export type Role = "broker" | "proxy" | "all";

export const ROLES: readonly Role[] = ["broker", "proxy", "all"];

export function parseRole(text: string): Role {
  const role = ROLES.find((candidate) => candidate === text);
  if (role === undefined) throw new ConfigError("--role", `must be one of ${ROLES.join(", ")}`);
  return role;
}

export const servesBroker = (role: Role): boolean => role !== "proxy";
export const servesProxy = (role: Role): boolean => role !== "broker";

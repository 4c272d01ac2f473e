/**
 * The options every agent-side command shares (DESIGN §8): where the broker's agent port is, and
 * the client certificate, key and CA bundle used to reach it over mTLS. Flags win over the
 * SURROGATE_* environment variables, which are read from the context's env only.
 */
import { resolve } from "node:path";
import { type AgentMaterial, loadAgentMaterial } from "./agent-material.ts";
import type { CliContext } from "./command.ts";

export const AGENT_OPTION_SPEC = {
  broker: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  ca: { type: "string" },
} as const;

export const AGENT_OPTIONS_HELP = `Broker connection (flags override the environment):
  --broker URL   the broker's agent port, e.g. https://broker.example.com:8443   [SURROGATE_BROKER]
  --cert FILE    this workload's client certificate (PEM, leaf first)           [SURROGATE_CERT]
  --key FILE     its private key (PEM, unencrypted)                             [SURROGATE_KEY]
  --ca FILE      CA bundle that issued the broker's server certificate           [SURROGATE_CA]
                 (without it the system's CAs are used)
`;

export interface AgentOptionValues {
  broker?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
}

export interface AgentOptions {
  /** Base URL of the agent port, without a trailing slash. */
  broker: string;
  certPath: string;
  keyPath: string;
  caPath?: string;
}

/** The resolved options, or a usage problem (one line) naming the flag and its variable. */
export function resolveAgentOptions(values: AgentOptionValues, context: CliContext): AgentOptions | string {
  const pick = (flag: keyof AgentOptionValues, variable: string) => {
    const value = values[flag] ?? context.env[variable];
    return value === undefined || value === "" ? undefined : value;
  };
  const broker = pick("broker", "SURROGATE_BROKER");
  const cert = pick("cert", "SURROGATE_CERT");
  const key = pick("key", "SURROGATE_KEY");
  const ca = pick("ca", "SURROGATE_CA");
  if (broker === undefined) return "missing --broker URL (or SURROGATE_BROKER)";
  if (cert === undefined) return "missing --cert FILE (or SURROGATE_CERT)";
  if (key === undefined) return "missing --key FILE (or SURROGATE_KEY)";
  const base = brokerBase(broker);
  if (typeof base !== "string") return base.problem;
  return {
    broker: base,
    certPath: resolve(context.cwd, cert),
    keyPath: resolve(context.cwd, key),
    ...(ca === undefined ? {} : { caPath: resolve(context.cwd, ca) }),
  };
}

/**
 * The agent port only speaks TLS with client certificates (RFC 8705 §2), so only https makes
 * sense. Userinfo, query and fragment have no meaning for a base URL and would be silently
 * carried into every request: refused instead.
 */
function brokerBase(text: string): string | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: "--broker: not a URL" };
  }
  if (url.protocol !== "https:")
    return { problem: "--broker: must be an https:// URL (the agent port uses mTLS)" };
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    return { problem: "--broker: must not carry credentials, a query or a fragment" };
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The options plus the certificate material, checked locally before any connection is tried. */
export interface AgentConnection extends AgentOptions {
  material: AgentMaterial;
}

export async function connectOptions(options: AgentOptions, now: number): Promise<AgentConnection> {
  return { ...options, material: await loadAgentMaterial(options, now) };
}

/**
 * What a tool is handed to use the companion: the proxy URL (with the credential), the CA bundle
 * its TLS stack should trust, and a placeholder in each provider's usual token variable so that
 * tools which refuse to run without a token send one (the companion drops it and the proxy
 * injects the real one). Never a wrapper, a key, or the path of the client certificate's key.
 */
import { rootCertificates } from "node:tls";
import type { Env } from "../core/config/types.ts";
import { baseUrl, proxyUrl } from "./credential.ts";

/** A fixed, obviously fake value: it never grants anything anywhere. */
export const PLACEHOLDER_TOKEN = "surrogate-placeholder";

/** The variables each built-in provider kind's tools read (gh, glab, the Slack SDKs …). */
const TOKEN_VARIABLES: Readonly<Record<string, readonly string[]>> = {
  github: ["GH_TOKEN", "GITHUB_TOKEN"],
  gitlab: ["GITLAB_TOKEN"],
  slack: ["SLACK_TOKEN"],
};

/** CA-bundle variables of curl, OpenSSL-based tools, Python requests, Node and git. */
const CA_VARIABLES = [
  "SSL_CERT_FILE",
  "REQUESTS_CA_BUNDLE",
  "CURL_CA_BUNDLE",
  "NODE_EXTRA_CA_CERTS",
  "GIT_SSL_CAINFO",
];
const PROXY_VARIABLES = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"];
/** The companion's own inputs: the child has no use for them and they point at the client key. */
const WITHHELD = ["SURROGATE_BROKER", "SURROGATE_CERT", "SURROGATE_KEY", "SURROGATE_CA"];

export interface ToolEnvInput {
  port: number;
  credential: string;
  bundlePath: string;
  providers: ReadonlyArray<{ name: string; kind: string }>;
  /** `--env VAR=PROVIDER`. */
  extra: ReadonlyArray<{ variable: string; provider: string }>;
}

/** The variables to set, in a stable order (also the content of `surrogate agent`'s env file). */
export function toolVariables(input: ToolEnvInput): Array<[string, string]> {
  const proxy = proxyUrl(input.credential, input.port);
  const variables: Array<[string, string]> = [
    ...PROXY_VARIABLES.map((name): [string, string] => [name, proxy]),
    ...CA_VARIABLES.map((name): [string, string] => [name, input.bundlePath]),
    ["SURROGATE_BASE_URL", baseUrl(input.credential, input.port)],
    // Node 24+ applies HTTPS_PROXY to its built-in fetch and http only when asked to.
    ["NODE_USE_ENV_PROXY", "1"],
  ];
  for (const provider of input.providers) {
    for (const name of TOKEN_VARIABLES[provider.kind] ?? []) variables.push([name, PLACEHOLDER_TOKEN]);
  }
  for (const { variable } of input.extra) variables.push([variable, PLACEHOLDER_TOKEN]);
  return variables;
}

/** The child's environment: the parent's, minus the companion's inputs, plus the tool variables. */
export function childEnv(parent: Env, input: ToolEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !WITHHELD.includes(name)) env[name] = value;
  }
  for (const [name, value] of toolVariables(input)) env[name] = value;
  return env;
}

/** Debian/Ubuntu, Fedora/RHEL, Alpine/Arch: where the distribution keeps its trusted roots. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

/**
 * The roots a tool trusted before (the parent's SSL_CERT_FILE, else the distribution's bundle, else
 * the Mozilla set Bun ships) followed by the companion's CA: hosts reached through `--passthrough`
 * keep verifying as they did, and terminated ones verify against the companion.
 */
export async function caBundle(caPem: string, parent: Env): Promise<string> {
  const candidates = [parent.SSL_CERT_FILE, ...SYSTEM_BUNDLES].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  let roots = rootCertificates.join("\n");
  for (const path of candidates) {
    const file = Bun.file(path);
    if ((await file.exists()) && file.size <= MAX_BUNDLE_BYTES) {
      roots = await file.text();
      break;
    }
  }
  return `${roots.trim()}\n${caPem.trim()}\n`;
}

/**
 * One companion: asks the broker which providers this workload may use, creates the in-memory CA
 * and the proxy credential, and listens on loopback. Shared by `surrogate run` (ephemeral port, one
 * child) and `surrogate agent` (a fixed port, long-running).
 */
import type { AgentBroker } from "./broker.ts";
import { createProxyCredential } from "./credential.ts";
import { type CompanionProvider, parseProviders, selectProviders } from "./providers.ts";
import { startCompanionServer } from "./server.ts";
import { createWrapperStore, type WrapperStore } from "./wrappers.ts";

export interface CompanionOptions {
  broker: AgentBroker;
  /** `--provider`: the providers to serve, in matching order; empty = every one the broker lists. */
  providers: readonly string[];
  passthrough: boolean;
  /** The token directory (`--tokens`). */
  tokens: string;
  listen: { host: string; port: number };
  stderr: { write(text: string): void };
}

export interface Companion {
  port: number;
  /** The proxy credential: goes into the tool's proxy URL, never anywhere else. */
  credential: string;
  caPem: string;
  providers: readonly CompanionProvider[];
  wrappers: WrapperStore;
  close(): Promise<void>;
}

export async function startCompanion(options: CompanionOptions): Promise<Companion> {
  const { broker } = options;
  const providers = selectProviders(parseProviders(await broker.providers()), options.providers);
  const wrappers = createWrapperStore({ directory: options.tokens, broker, stderr: options.stderr });
  // Loaded here, not at start-up of every command: certificate generation brings @peculiar/x509 and
  // its global Reflect shim, which nothing else in the process needs (docs/benchmarks.md).
  const { createLocalCa } = await import("./local-ca.ts");
  const ca = await createLocalCa();
  const credential = createProxyCredential();
  const server = await startCompanionServer(
    { credential, providers, passthrough: options.passthrough, ca, broker, wrappers },
    options.listen.host,
    options.listen.port,
  );
  return { port: server.port, credential, caPem: ca.certPem, providers, wrappers, close: server.close };
}

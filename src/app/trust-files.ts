import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { readBoundedText } from "../core/config/file.ts";
import type { Config } from "../core/config/types.ts";
import { parseBundle } from "../core/identity/bundle.ts";
import { type Bundle, ClientTrust } from "../core/identity/trust.ts";

/** A bundle file larger than this is not a bundle (a SPIFFE bundle with 64 roots is ~100 KiB). */
const MAX_BUNDLE_BYTES = 1024 * 1024;
/** Writers replace a bundle in several writes; one reload once they are done. */
const SETTLE_MS = 250;

type AgentConfig = Config["agent"];

/** Reads `agent.client_ca` and every `[agent.trust_domains]` bundle (PEM or SPIFFE JSON). */
export async function loadTrust(agent: AgentConfig): Promise<ClientTrust> {
  const read = async (path: string, key: string): Promise<Bundle> => {
    const source = `${key} (${path})`;
    return { source, ders: parseBundle(await readBoundedText(path, MAX_BUNDLE_BYTES, key), source) };
  };
  const domains = Object.entries(agent.trustDomains ?? {});
  const trustDomains = await Promise.all(
    domains.map(async ([name, path]) => [name, await read(path, `agent.trust_domains.${name}`)] as const),
  );
  return new ClientTrust({
    ...(agent.clientCa === undefined ? {} : { clientCa: await read(agent.clientCa, "agent.client_ca") }),
    ...(agent.trustDomains === undefined ? {} : { trustDomains: new Map(trustDomains) }),
  });
}

/**
 * Calls `changed` once the bundle files settle after a change. SPIRE rotates its CA and
 * spiffe-helper rewrites `bundle.pem` in place, other tools rename a new file over the old one:
 * the directory is watched, so both are seen. A failing reload keeps the trust in force.
 */
export function watchTrust(agent: AgentConfig, changed: () => void): () => void {
  const files = [agent.clientCa, ...Object.values(agent.trustDomains ?? {})].filter(
    (path): path is string => path !== undefined,
  );
  const byDirectory = new Map<string, string[]>();
  for (const path of files) byDirectory.set(dirname(path), [...(byDirectory.get(dirname(path)) ?? []), path]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchers: FSWatcher[] = [];
  for (const [directory, paths] of byDirectory) {
    const names = new Set(paths.map((path) => basename(path)));
    watchers.push(
      watch(directory, { persistent: false }, (_event, name) => {
        if (name !== null && !names.has(String(name))) return;
        clearTimeout(timer);
        timer = setTimeout(changed, SETTLE_MS);
      }),
    );
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

/**
 * docs/providers.md shows one `[providers.NAME]` block per vendor: each loads as configuration and
 * resolves to the profile the page describes (scopes, hosts, injection), so what an operator copies
 * from it starts.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveProviders } from "../../../../src/broker/providers/registry.ts";
import { parseConfig } from "../../../../src/core/config/load.ts";

const ROOT = join(import.meta.dir, "../../../..");
const PAGE = readFileSync(join(ROOT, "docs/providers.md"), "utf8");
const BASE = [
  'issuer = "https://broker.example.com"',
  '[agent]\ntls_cert = "server.pem"\ntls_key = "server.key"\nclient_ca = "ca.pem"',
  '[keys]\nsigning = "env:SIGNING_JWKS"\nencryption = "env:ENCRYPTION_JWKS"',
].join("\n");

const blocks = [...PAGE.matchAll(/```toml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");

test("the page has one block per built-in vendor", () => {
  const kinds = blocks.map((block) => /kind = "([a-z]+)"/.exec(block)?.[1]);
  expect(kinds).toEqual(["github", "google", "microsoft", "gitlab", "slack", "atlassian"]);
});

test.each(blocks.map((block) => [/kind = "([a-z]+)"/.exec(block)?.[1] ?? "?", block]))(
  "the %s block loads as written (its credential read from CREDENTIALS_DIRECTORY) and resolves",
  async (kind, block) => {
    const credentials = await mkdtemp(join(tmpdir(), "surrogate-providers-doc-"));
    try {
      for (const [, name] of block.matchAll(/"credential:([a-z-]+)"/g)) {
        await writeFile(join(credentials, name ?? ""), "s3cret\n");
      }
      const config = await parseConfig(`${BASE}\n${block}`, { CREDENTIALS_DIRECTORY: credentials });
      const provider = (await resolveProviders(config, { fetch, now: Date.now })).get(kind);
      expect(provider?.kind).toBe(kind as never);
      expect(provider?.oauth).toBeDefined();
      // Every host the profile lets tokens reach is named on the page.
      for (const rule of provider?.upstreams ?? []) {
        const named = rule.wildcard ? `\`*.${rule.host}\`` : `\`${rule.host}\``;
        expect({ named, onThePage: PAGE.includes(named) }).toEqual({ named, onThePage: true });
      }
    } finally {
      await rm(credentials, { recursive: true, force: true });
    }
  },
);

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig, parseConfig } from "../../../../src/core/config/load.ts";
import { configFailure } from "./failure.ts";

const root = resolve(import.meta.dir, "../../../..");
const EXAMPLE = join(root, "examples/surrogate.toml");
const UNIT = join(root, "scripts/systemd/surrogate.service");
const DROP_IN = join(root, "scripts/systemd/credentials.conf");
const STARTER = join(root, "scripts/systemd/surrogate.toml");
let credentials = "";

function credentialRefs(toml: string): string[] {
  return [...toml.matchAll(/^[a-z_]+\s*=\s*"credential:([^"]+)"/gm)].map((match) => match[1] ?? "");
}

beforeAll(async () => {
  credentials = await mkdtemp(join(tmpdir(), "surrogate-credentials-"));
  await writeFile(join(credentials, "github-client-secret"), "github-secret\n");
  await writeFile(join(credentials, "corp-client-secret"), "corp-secret\n");
});

afterAll(async () => {
  await rm(credentials, { recursive: true, force: true });
});

describe("examples/surrogate.toml", () => {
  test("loads with its client secrets read from systemd credentials", async () => {
    const config = await loadConfig(EXAMPLE, { CREDENTIALS_DIRECTORY: credentials });
    expect(config.issuer).toBe("https://broker.example.com");
    expect(config.agent.requestTimeout).toBe(300);
    expect(config.rendezvous.grantTtl).toBe(600);
    expect(Object.keys(config.providers)).toEqual(["github", "corp", "openai"]);
    expect(config.providers.github?.clientSecret?.reveal()).toBe("github-secret");
    expect(config.providers.corp?.clientSecret?.reveal()).toBe("corp-secret");
    expect(config.policy).toHaveLength(2);
  });

  test("stops when a credential is missing", async () => {
    await rm(join(credentials, "corp-client-secret"));
    const error = await configFailure(() => loadConfig(EXAMPLE, { CREDENTIALS_DIRECTORY: credentials }));
    expect(error.message).toBe(
      `providers.corp.client_secret: cannot read ${join(credentials, "corp-client-secret")}: no such file or directory (ENOENT)`,
    );
    await writeFile(join(credentials, "corp-client-secret"), "corp-secret\n");
  });

  test("every credential: reference has a LoadCredential= line in the credentials drop-in", async () => {
    const dropIn = await readFile(DROP_IN, "utf8");
    const loaded = [...dropIn.matchAll(/^LoadCredential=([^:\n]+):/gm)].map((match) => match[1]);
    // The installed configuration starts with exactly what the drop-in loads.
    const starter = credentialRefs(await readFile(STARTER, "utf8"));
    expect(starter).toEqual(["signing.jwks", "encryption.jwks"]);
    for (const name of starter) expect(loaded).toContain(name);
    expect(loaded).toContain("agent.key");
    // The full example's client secrets are shown there as the lines to add.
    const refs = credentialRefs(await readFile(EXAMPLE, "utf8"));
    expect(refs).toEqual(["signing.jwks", "encryption.jwks", "github-client-secret", "corp-client-secret"]);
    const shown = [...dropIn.matchAll(/^#? ?LoadCredential=([^:\n]+):/gm)].map((match) => match[1]);
    for (const name of refs) expect(shown).toContain(name);
    // The unit itself carries none: an upgrade replaces it.
    expect(await readFile(UNIT, "utf8")).not.toMatch(/^LoadCredential=/m);
  });
});

describe("docs/spiffe.md", () => {
  test("its configuration loads: trust domains, no client_ca, max_connection_age", async () => {
    const doc = await readFile(join(root, "docs/spiffe.md"), "utf8");
    const block = /```toml\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const head = 'issuer = "https://broker.example.com"\n[keys]\nsigning = "env:S"\nencryption = "env:E"\n';
    const github = '[providers.github]\nkind = "github"\nclient_id = "Iv1.abc"\nclient_secret = "env:GH"\n';
    const config = await parseConfig(`${head}${github}${block}`, { GH: "gh-secret" });
    expect(config.agent.clientCa).toBeUndefined();
    expect(Object.keys(config.agent.trustDomains ?? {})).toEqual(["corp.example", "partner.example"]);
    expect(config.agent.maxConnectionAge).toBe(3600);
  });
});

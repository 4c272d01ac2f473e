import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configPath, loadConfig, MAX_CONFIG_BYTES, parseConfig } from "../../../../src/core/config/load.ts";
import { Secret } from "../../../../src/core/secret.ts";
import { configFailure } from "./failure.ts";

/** The example of DESIGN §7, verbatim. */
const DESIGN_EXAMPLE = `
issuer = "https://broker.example.com"   # public URL of the web port
token_ttl = "1h"                         # cap on wrapper lifetime

[web]
listen = "0.0.0.0:8080"

[agent]
listen = "0.0.0.0:8443"
tls_cert = "/etc/surrogate/server.pem"
tls_key = "/etc/surrogate/server.key"
client_ca = "/etc/surrogate/agents-ca.pem"    # e.g. the SPIFFE trust bundle
# upstream_ca = "/etc/surrogate/internal-ca.pem"

[keys]
signing = "credential:signing.jwks"
encryption = "credential:encryption.jwks"

[rendezvous]
url = "memory:"

[providers.github]
kind = "github"
client_id = "Iv1.abc"
client_secret = "env:GITHUB_CLIENT_SECRET"
scopes = ["repo", "read:user"]

[providers.corp]
kind = "oidc"
issuer = "https://idp.corp.example"
client_id = "surrogate"
client_secret = "env:CORP_SECRET"
scopes = ["openid", "email", "offline_access"]
upstreams = ["api.corp.example", "files.corp.example:8443"]
inject = "Authorization: Bearer {token}"

[providers.openai]
kind = "static"
upstreams = ["api.openai.com"]
inject = "Authorization: Bearer {token}"

[[policy]]
workload = "spiffe://corp.example/agents/*"
providers = ["github", "corp"]
`;

const ENV = { GITHUB_CLIENT_SECRET: "gh-client-secret", CORP_SECRET: "corp-client-secret" };

describe("the DESIGN §7 example", () => {
  test("loads with every default filled and secrets resolved", async () => {
    const config = await parseConfig(DESIGN_EXAMPLE, ENV, { baseDir: "/etc/surrogate" });
    expect(config.issuer).toBe("https://broker.example.com");
    expect(config.tokenTtl).toBe(3600);
    expect(config.refreshTtl).toBe(30 * 86400);
    expect(config.web).toEqual({ listen: { host: "0.0.0.0", port: 8080 } });
    expect(config.agent).toEqual({
      listen: { host: "0.0.0.0", port: 8443 },
      tlsCert: "/etc/surrogate/server.pem",
      tlsKey: "/etc/surrogate/server.key",
      clientCa: "/etc/surrogate/agents-ca.pem",
      headersTimeout: 10,
      idleTimeout: 60,
      requestTimeout: 300,
      upstreamTimeout: 30,
      maxHeaderSize: 16_384,
      scrubResponses: true,
      maxConnectionAge: 3600,
      publicUrl: "https://broker.example.com:8443",
    });
    expect(config.keys).toEqual({
      signing: "credential:signing.jwks",
      encryption: "credential:encryption.jwks",
    });
    expect(config.rendezvous).toEqual({
      url: "memory:",
      grantTtl: 600,
      interval: 5,
      maxPendingPerWorkload: 5,
      maxPendingTotal: 10_000,
      createRate: 10,
    });
    expect(config.policy).toEqual([
      { workload: "spiffe://corp.example/agents/*", providers: ["github", "corp"] },
    ]);
  });

  test("providers keep their fields, camelCased, with the client secret as a Secret", async () => {
    const { providers } = await parseConfig(DESIGN_EXAMPLE, ENV);
    expect(Object.keys(providers)).toEqual(["github", "corp", "openai"]);
    const github = providers.github;
    expect(github?.clientSecret).toBeInstanceOf(Secret);
    expect(github?.clientSecret?.reveal()).toBe("gh-client-secret");
    expect(github).toMatchObject({
      name: "github",
      kind: "github",
      clientId: "Iv1.abc",
      scopes: ["repo", "read:user"],
    });
    expect(providers.corp).toMatchObject({
      kind: "oidc",
      issuer: "https://idp.corp.example",
      upstreams: ["api.corp.example", "files.corp.example:8443"],
      inject: "Authorization: Bearer {token}",
    });
    expect(providers.corp?.clientSecret?.reveal()).toBe("corp-client-secret");
    expect(providers.openai).toMatchObject({ kind: "static", upstreams: ["api.openai.com"] });
    expect(providers.openai?.clientSecret).toBeUndefined();
  });

  test("an unset client secret variable stops loading, naming the key", async () => {
    const error = await configFailure(() => parseConfig(DESIGN_EXAMPLE, { CORP_SECRET: "x" }));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toBe("providers.github.client_secret: env:GITHUB_CLIENT_SECRET is not set");
  });
});

const MINIMAL = {
  root: 'issuer = "https://broker.example.com"',
  agent: '[agent]\ntls_cert = "server.pem"\ntls_key = "server.key"\nclient_ca = "ca.pem"',
  keys: '[keys]\nsigning = "env:SIGNING_JWKS"\nencryption = "env:ENCRYPTION_JWKS"',
  tail: "",
};

function doc(parts: Partial<typeof MINIMAL>): string {
  const merged = { ...MINIMAL, ...parts };
  return [merged.root, merged.agent, merged.keys, merged.tail].join("\n");
}

describe("[agent.trust_domains]", () => {
  test("bundles per trust domain, paths relative to the file; client_ca may be left out", async () => {
    const text = doc({
      agent:
        '[agent]\ntls_cert = "server.pem"\ntls_key = "server.key"\n[agent.trust_domains]\n"td.test" = "file:bundles/td.pem"\n"partner.example" = "file:/etc/p.json"',
    });
    const config = await parseConfig(text, {}, { baseDir: "/cfg" });
    expect(config.agent.clientCa).toBeUndefined();
    expect(config.agent.trustDomains).toEqual({
      "td.test": "/cfg/bundles/td.pem",
      "partner.example": "/etc/p.json",
    });
  });
});

describe("a minimal file", () => {
  test("loads, resolving relative paths against baseDir", async () => {
    const config = await parseConfig(doc({}), {}, { baseDir: "/srv/surrogate" });
    expect(config.agent.tlsCert).toBe("/srv/surrogate/server.pem");
    expect(config.agent.tlsKey).toBe("/srv/surrogate/server.key");
    expect(config.agent.clientCa).toBe("/srv/surrogate/ca.pem");
    expect(config.providers).toEqual({});
    expect(config.policy).toEqual([]);
    expect(config.web.listen).toEqual({ host: "0.0.0.0", port: 8080 });
  });

  test("accepts every optional key with explicit values", async () => {
    const text = doc({
      root: 'issuer = "http://127.0.0.1:9000/broker/"\ntoken_ttl = 900\nrefresh_ttl = "7d"',
      agent: `[agent]
listen = "[::1]:0"
tls_cert = "/a/server.pem"
tls_key = "/a/server.key"
client_ca = "/a/ca.pem"
upstream_ca = "internal-ca.pem"
headers_timeout = "5s"
idle_timeout = "2m"
request_timeout = "1h30m"
upstream_timeout = 45
max_header_size = 32768
max_connections = 500
handshake_timeout = "2s"
max_handshakes_per_address = 8
max_pending_handshakes = 200
scrub_responses = false
public_url = "https://agents.example.com:443/"`,
      keys: '[keys]\nsigning = "jwks:https://broker.example.com/.well-known/jwks.json"\nencryption = "file:keys/enc.jwks"',
      tail: `[web]
listen = "127.0.0.1:18080"
tls_cert = "web.pem"
tls_key = "web.key"
trusted_proxies = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.10"]
[rendezvous]
url = "rediss://redis.internal:6380/0"
grant_ttl = "5m"
interval = "2s"
max_pending_per_workload = 3
max_pending_total = 500
create_rate = 30
[providers.ms]
kind = "microsoft"
client_id = "app"
client_secret = "env:MS"
tenant = "contoso"
jwt_access_tokens = true
authorization_endpoint = "https://login.example/authorize?prompt=consent"
token_endpoint = "https://login.example/token"
jwks_uri = "https://login.example/keys"
[providers.gl]
kind = "gitlab"
client_id = "gl"
client_secret = "env:GL"
base_url = "http://localhost:3000"`,
    });
    const config = await parseConfig(text, { MS: "m", GL: "g" }, { baseDir: "/cfg" });
    expect(config.issuer).toBe("http://127.0.0.1:9000/broker");
    expect(config.tokenTtl).toBe(900);
    expect(config.refreshTtl).toBe(7 * 86400);
    expect(config.agent).toMatchObject({
      listen: { host: "::1", port: 0 },
      upstreamCa: "/cfg/internal-ca.pem",
      headersTimeout: 5,
      idleTimeout: 120,
      requestTimeout: 5400,
      upstreamTimeout: 45,
      maxHeaderSize: 32_768,
      maxConnections: 500,
      handshakeTimeout: 2,
      maxHandshakesPerAddress: 8,
      maxPendingHandshakes: 200,
      scrubResponses: false,
      publicUrl: "https://agents.example.com",
    });
    expect(config.keys).toEqual({
      signing: "jwks:https://broker.example.com/.well-known/jwks.json",
      encryption: "file:/cfg/keys/enc.jwks",
    });
    expect(config.web).toEqual({
      listen: { host: "127.0.0.1", port: 18_080 },
      tlsCert: "/cfg/web.pem",
      tlsKey: "/cfg/web.key",
      trustedProxies: [
        { bytes: new Uint8Array([10, 0, 0, 0]), prefix: 8 },
        { bytes: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)]), prefix: 32 },
        { bytes: new Uint8Array([192, 0, 2, 10]), prefix: 32 },
      ],
    });
    expect(config.rendezvous).toEqual({
      url: "rediss://redis.internal:6380/0",
      grantTtl: 300,
      interval: 2,
      maxPendingPerWorkload: 3,
      maxPendingTotal: 500,
      createRate: 30,
    });
    expect(config.providers.ms).toMatchObject({ tenant: "contoso", jwtAccessTokens: true });
    expect(config.providers.gl?.baseUrl).toBe("http://localhost:3000");
  });

  test.each([
    ["https://broker.example.com/", "https://broker.example.com"],
    ["https://Broker.Example.com:443/a//", "https://broker.example.com/a"],
    ["http://localhost:8080", "http://localhost:8080"],
    ["http://[::1]:8080/", "http://[::1]:8080"],
  ])("issuer %p is normalised to %p", async (issuer, expected) => {
    const config = await parseConfig(doc({ root: `issuer = "${issuer}"` }), {});
    expect(config.issuer).toBe(expected);
  });

  test("a redis URL may come from a secret reference", async () => {
    const text = doc({ tail: '[rendezvous]\nurl = "env:REDIS_URL"' });
    const config = await parseConfig(text, { REDIS_URL: "redis://:pw@redis:6379" });
    expect(config.rendezvous.url).toBe("redis://:pw@redis:6379");
  });
});

describe("loadConfig and configPath", () => {
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "surrogate-config-"));
    await writeFile(
      join(dir, "surrogate.toml"),
      doc({ tail: '[providers.g]\nkind = "google"\nclient_id = "i"\nclient_secret = "file:g.secret"' }),
    );
    await writeFile(join(dir, "g.secret"), "google-secret\n");
    await writeFile(join(dir, "huge.toml"), `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("SURROGATE_CONFIG wins over the default file name", () => {
    expect(configPath({ SURROGATE_CONFIG: "/etc/surrogate/surrogate.toml" })).toBe(
      "/etc/surrogate/surrogate.toml",
    );
    expect(configPath({})).toBe("surrogate.toml");
  });

  test("relative paths and file: references resolve against the file's directory", async () => {
    const config = await loadConfig(join(dir, "surrogate.toml"), {});
    expect(config.agent.tlsCert).toBe(join(dir, "server.pem"));
    expect(config.providers.g?.clientSecret?.reveal()).toBe("google-secret");
  });

  test("a missing file names the path", async () => {
    const error = await configFailure(() => loadConfig(join(dir, "absent.toml"), {}));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toBe(
      `config: cannot read ${join(dir, "absent.toml")}: no such file or directory (ENOENT)`,
    );
  });

  test("a file larger than 1 MiB is refused", async () => {
    const error = await configFailure(() => loadConfig(join(dir, "huge.toml"), {}));
    expect(error.message).toBe(`config: ${join(dir, "huge.toml")} is larger than ${MAX_CONFIG_BYTES} bytes`);
  });
});

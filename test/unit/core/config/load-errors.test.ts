import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../../src/core/config/load.ts";
import { configFailure } from "./failure.ts";

const ROOT = 'issuer = "https://broker.example.com"';
const AGENT = '[agent]\ntls_cert = "server.pem"\ntls_key = "server.key"\nclient_ca = "ca.pem"';
const KEYS = '[keys]\nsigning = "env:SIGNING_JWKS"\nencryption = "env:ENCRYPTION_JWKS"';
const GITHUB = '[providers.github]\nkind = "github"\nclient_id = "Iv1.abc"\nclient_secret = "env:GH_SECRET"';
const ENV = { GH_SECRET: "gh-secret-value" };

function doc(parts: { root?: string; agent?: string; keys?: string; tail?: string }): string {
  return [parts.root ?? ROOT, parts.agent ?? AGENT, parts.keys ?? KEYS, parts.tail ?? ""].join("\n");
}

async function expectRefused(text: string, message: string): Promise<void> {
  const error = await configFailure(() => parseConfig(text, ENV, { baseDir: "/cfg" }));
  expect(error.code).toBe("config_invalid");
  expect(error.message).toBe(message);
}

const provider = (body: string) => `[providers.p]\n${body}`;

const cases: [string, string, string][] = [
  // file-level
  ["bad TOML", 'issuer = "https://x', "config: invalid TOML on line 1 (issuer = …): Unterminated string"],
  [
    "bad TOML further down: line number and key, never the value",
    doc({ root: `${ROOT}\n\ntoken_ttl = 1h` }),
    "config: invalid TOML on line 3 (token_ttl = …): Unexpected character after a value: 'h'",
  ],
  [
    "an unquoted secret is not echoed",
    doc({ root: `${ROOT}\n[providers.github]\nkind = "github"\nclient_secret = ghp_s3cr3tvalue` }),
    "config: invalid TOML on line 4 (client_secret = …): Strings must be quoted",
  ],
  [
    "a duplicate table",
    "[web]\n[agent]\n\n[web]\n",
    "config: invalid TOML on line 4 ([web]): Cannot redefine table 'web'",
  ],
  [
    "unknown root key",
    doc({ root: `${ROOT}\ntoken_tll = "1h"` }),
    "token_tll: unknown key (did you mean token_ttl?)",
  ],
  ["unknown table", doc({ tail: '[webb]\nlisten = "0.0.0.0:1"' }), "webb: unknown key (did you mean web?)"],
  ["odd unknown key is quoted", doc({ root: `${ROOT}\n"a\\nb" = 1` }), '"a\\nb": unknown key'],
  // issuer
  ["missing issuer", doc({ root: "" }), "issuer: is required"],
  ["issuer not a string", doc({ root: "issuer = 5" }), "issuer: must be a string"],
  ["issuer relative", doc({ root: 'issuer = "/broker"' }), "issuer: must be an absolute URL"],
  [
    "issuer http",
    doc({ root: 'issuer = "http://broker.example.com"' }),
    "issuer: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "issuer http 127.0.0.2",
    doc({ root: 'issuer = "http://127.0.0.2"' }),
    "issuer: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "issuer ftp",
    doc({ root: 'issuer = "ftp://broker.example.com"' }),
    "issuer: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "issuer userinfo",
    doc({ root: 'issuer = "https://u:p@broker.example.com"' }),
    "issuer: must not contain user information (user:password@)",
  ],
  [
    "issuer query",
    doc({ root: 'issuer = "https://broker.example.com/?a=b"' }),
    "issuer: must not contain a query (?…)",
  ],
  [
    "issuer fragment",
    doc({ root: 'issuer = "https://broker.example.com/#x"' }),
    "issuer: must not contain a fragment (#…)",
  ],
  [
    "issuer whitespace",
    doc({ root: 'issuer = " https://broker.example.com"' }),
    "issuer: must be an absolute URL",
  ],
  // durations
  [
    "token_ttl bad",
    doc({ root: `${ROOT}\ntoken_ttl = "1 hour"` }),
    'token_ttl: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "1 hour")',
  ],
  [
    "token_ttl bool",
    doc({ root: `${ROOT}\ntoken_ttl = true` }),
    'token_ttl: must be a duration such as "90s", "15m" or "1h" (or a whole number of seconds)',
  ],
  ["token_ttl zero", doc({ root: `${ROOT}\ntoken_ttl = 0` }), "token_ttl: must be a positive duration"],
  // web
  [
    "web listen no port",
    doc({ tail: '[web]\nlisten = "0.0.0.0"' }),
    'web.listen: must be "host:port" or "[ipv6]:port"',
  ],
  [
    "web listen bare v6",
    doc({ tail: '[web]\nlisten = "::1:8080"' }),
    'web.listen: must be "host:port" or "[ipv6]:port"',
  ],
  [
    "web listen port range",
    doc({ tail: '[web]\nlisten = "0.0.0.0:65536"' }),
    "web.listen: port must be between 0 and 65535",
  ],
  [
    "web listen bad v6",
    doc({ tail: '[web]\nlisten = "[1:2:3]:80"' }),
    "web.listen: 1:2:3 is not an IPv6 address",
  ],
  [
    "web listen bad host",
    doc({ tail: '[web]\nlisten = "-bad-.example:80"' }),
    "web.listen: host must be an IPv4 address, a hostname or a bracketed IPv6 address",
  ],
  [
    "web cert without key",
    doc({ tail: '[web]\ntls_cert = "web.pem"' }),
    "web.tls_key: is required when the other of web.tls_cert/web.tls_key is set",
  ],
  [
    "web key without cert",
    doc({ tail: '[web]\ntls_key = "web.key"' }),
    "web.tls_cert: is required when the other of web.tls_cert/web.tls_key is set",
  ],
  [
    "trusted proxy not a CIDR",
    doc({ tail: '[web]\ntrusted_proxies = ["10.0.0.0/8", "10.0.0.0/33"]' }),
    'web.trusted_proxies[1]: "10.0.0.0/33" is not an IP address or CIDR block',
  ],
  [
    "trusted proxy a host name",
    doc({ tail: '[web]\ntrusted_proxies = ["lb.internal"]' }),
    'web.trusted_proxies[0]: "lb.internal" is not an IP address or CIDR block',
  ],
  // agent
  ["agent missing", doc({ agent: "" }), "agent: is required"],
  [
    "agent tls_cert missing",
    doc({ agent: '[agent]\ntls_key = "k"\nclient_ca = "c"' }),
    "agent.tls_cert: is required",
  ],
  [
    "agent client_ca empty",
    doc({ agent: '[agent]\ntls_cert = "c"\ntls_key = "k"\nclient_ca = ""' }),
    "agent.client_ca: must not be empty",
  ],
  ["agent unknown key", doc({ agent: `${AGENT}\nclient_cert = "x"` }), "agent.client_cert: unknown key"],
  [
    "agent without client_ca or trust_domains",
    doc({ agent: '[agent]\ntls_cert = "c"\ntls_key = "k"' }),
    "agent.client_ca: is required unless agent.trust_domains is set",
  ],
  [
    "trust domain name not lower-case",
    doc({ tail: '[agent.trust_domains]\n"TD.test" = "file:/b.pem"' }),
    'agent.trust_domains: "TD.test" is not a trust domain name (lower-case letters, digits, ".", "-", "_")',
  ],
  [
    "trust domain given as a URI",
    doc({ tail: '[agent.trust_domains]\n"spiffe://td.test" = "file:/b.pem"' }),
    'agent.trust_domains: "spiffe://td.test" is not a trust domain name (lower-case letters, digits, ".", "-", "_")',
  ],
  [
    "trust domain bundle not a file: reference",
    doc({ tail: '[agent.trust_domains]\n"td.test" = "/b.pem"' }),
    'agent.trust_domains."td.test": must name its bundle file as file:/path',
  ],
  [
    "policy binding unknown",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "*"\nproviders = ["github"]\nbinding = "jkt"` }),
    'policy[0].binding: must be "certificate" or "key"',
  ],
  [
    "policy refresh_binding unknown",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "*"\nproviders = ["github"]\nrefresh_binding = "key"` }),
    'policy[0].refresh_binding: must be "certificate" or "spiffe_id"',
  ],
  [
    "agent max_header_size small",
    doc({ agent: `${AGENT}\nmax_header_size = 10` }),
    "agent.max_header_size: must be at least 1024",
  ],
  [
    "agent scrub_responses not a boolean",
    doc({ agent: `${AGENT}\nscrub_responses = "yes"` }),
    "agent.scrub_responses: must be true or false",
  ],
  [
    "agent max_header_size float",
    doc({ agent: `${AGENT}\nmax_header_size = 2048.5` }),
    "agent.max_header_size: must be an integer",
  ],
  [
    "agent idle_timeout bad",
    doc({ agent: `${AGENT}\nidle_timeout = "forever"` }),
    'agent.idle_timeout: must be a duration such as "90s", "15m", "1h" or "1h30m" (got "forever")',
  ],
  ["agent listen bad", doc({ agent: `${AGENT}\nlisten = 8443` }), "agent.listen: must be a string"],
  [
    "agent public_url over http",
    doc({ agent: `${AGENT}\npublic_url = "http://127.0.0.1:8443"` }),
    "agent.public_url: must be an https:// URL (the agent port is mTLS)",
  ],
  [
    "agent public_url with a path",
    doc({ agent: `${AGENT}\npublic_url = "https://agents.example.com/v1"` }),
    "agent.public_url: must be an origin only (https://host[:port]), without a path, query or fragment",
  ],
  // keys
  ["keys missing", doc({ keys: "" }), "keys: is required"],
  [
    "keys literal signing",
    doc({ keys: '[keys]\nsigning = "{\\"keys\\":[]}"\nencryption = "env:E"' }),
    "keys.signing: must be one of file:/path, env:NAME, credential:NAME or jwks:https://…",
  ],
  [
    "keys jwks encryption",
    doc({ keys: '[keys]\nsigning = "env:S"\nencryption = "jwks:https://x.example/jwks"' }),
    "keys.encryption: must be one of file:/path, env:NAME or credential:NAME",
  ],
  [
    "keys jwks http",
    doc({ keys: '[keys]\nsigning = "jwks:http://x.example/jwks"\nencryption = "env:E"' }),
    "keys.signing: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "keys empty file",
    doc({ keys: '[keys]\nsigning = "file:"\nencryption = "env:E"' }),
    "keys.signing: file: must name a file (file:/path)",
  ],
  // rendezvous
  [
    "rendezvous create_rate zero",
    doc({ tail: "[rendezvous]\ncreate_rate = 0" }),
    "rendezvous.create_rate: must be at least 1",
  ],
  [
    "rendezvous bad scheme",
    doc({ tail: '[rendezvous]\nurl = "http://redis:6379"' }),
    'rendezvous.url: must be "memory:" or a redis:// or rediss:// URL with a host',
  ],
  [
    "rendezvous not a url",
    doc({ tail: '[rendezvous]\nurl = "memory"' }),
    'rendezvous.url: must be "memory:" or a redis:// or rediss:// URL',
  ],
  [
    "rendezvous env unset",
    doc({ tail: '[rendezvous]\nurl = "env:REDIS_URL"' }),
    "rendezvous.url: env:REDIS_URL is not set",
  ],
  [
    "rendezvous interval >= ttl",
    doc({ tail: '[rendezvous]\ngrant_ttl = "10s"\ninterval = "10s"' }),
    "rendezvous.interval: must be shorter than rendezvous.grant_ttl",
  ],
  [
    "rendezvous per-workload 0",
    doc({ tail: "[rendezvous]\nmax_pending_per_workload = 0" }),
    "rendezvous.max_pending_per_workload: must be at least 1",
  ],
  ["rendezvous unknown", doc({ tail: "[rendezvous]\nttl = 5" }), "rendezvous.ttl: unknown key"],
  // providers
  [
    "provider bad name",
    doc({ tail: '[providers.GitHub]\nkind = "static"\nupstreams = ["a.example"]' }),
    'providers."GitHub": name must match ^[a-z][a-z0-9_-]{0,31}$',
  ],
  [
    "provider long name",
    doc({ tail: `[providers.${"a".repeat(33)}]\nkind = "static"\nupstreams = ["a.example"]` }),
    `providers."${"a".repeat(33)}": name must match ^[a-z][a-z0-9_-]{0,31}$`,
  ],
  [
    "provider unknown kind",
    doc({ tail: provider('kind = "githab"\nclient_id = "i"\nclient_secret = "env:GH_SECRET"') }),
    'providers.p.kind: unknown kind "githab"; expected one of: github, google, microsoft, gitlab, slack, atlassian, oidc, oauth2, static, demo',
  ],
  ["provider kind missing", doc({ tail: provider('client_id = "i"') }), "providers.p.kind: is required"],
  [
    "provider typo key",
    doc({ tail: `${GITHUB}\nclinet_secret = "env:GH_SECRET"` }),
    "providers.github.clinet_secret: unknown key (did you mean client_secret?)",
  ],
  [
    "provider client_id missing",
    doc({ tail: provider('kind = "google"\nclient_secret = "env:GH_SECRET"') }),
    'providers.p.client_id: is required for kind "google"',
  ],
  [
    "provider client_secret missing",
    doc({ tail: provider('kind = "google"\nclient_id = "i"') }),
    'providers.p.client_secret: is required for kind "google"',
  ],
  [
    "provider literal secret",
    doc({ tail: provider('kind = "google"\nclient_id = "i"\nclient_secret = "GOCSPX-abc123"') }),
    "providers.p.client_secret: a literal secret is not accepted; use env:NAME, file:/path or credential:NAME",
  ],
  [
    "provider secret env unset",
    doc({ tail: provider('kind = "google"\nclient_id = "i"\nclient_secret = "env:GOOGLE_SECRET"') }),
    "providers.p.client_secret: env:GOOGLE_SECRET is not set",
  ],
  [
    "provider secret file missing",
    doc({ tail: provider('kind = "google"\nclient_id = "i"\nclient_secret = "file:google.secret"') }),
    "providers.p.client_secret: cannot read /cfg/google.secret: no such file or directory (ENOENT)",
  ],
  [
    "static with secret",
    doc({ tail: provider('kind = "static"\nupstreams = ["a.example"]\nclient_secret = "env:GH_SECRET"') }),
    'providers.p.client_secret: is not used by kind "static"',
  ],
  [
    "static without upstreams",
    doc({ tail: provider('kind = "static"') }),
    'providers.p.upstreams: is required for kind "static"',
  ],
  [
    "oidc without issuer",
    doc({ tail: provider('kind = "oidc"\nclient_id = "i"\nclient_secret = "env:GH_SECRET"') }),
    'providers.p.issuer: is required for kind "oidc"',
  ],
  [
    "oauth2 without token endpoint",
    doc({
      tail: provider(
        'kind = "oauth2"\nclient_id = "i"\nclient_secret = "env:GH_SECRET"\nauthorization_endpoint = "https://a.example/auth"',
      ),
    }),
    'providers.p.token_endpoint: is required for kind "oauth2"',
  ],
  [
    "provider http issuer",
    doc({
      tail: provider(
        'kind = "oidc"\nclient_id = "i"\nclient_secret = "env:GH_SECRET"\nissuer = "http://idp.example"',
      ),
    }),
    "providers.p.issuer: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "provider http token endpoint",
    doc({ tail: `${GITHUB}\ntoken_endpoint = "http://github.com/token"` }),
    "providers.github.token_endpoint: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "provider unknown client authentication",
    doc({ tail: `${GITHUB}\ntoken_endpoint_auth_method = "private_key_jwt"` }),
    "providers.github.token_endpoint_auth_method: must be one of: client_secret_basic, client_secret_post",
  ],
  [
    "static with client authentication",
    doc({
      tail: provider(
        'kind = "static"\nupstreams = ["a.example"]\ntoken_endpoint_auth_method = "client_secret_post"',
      ),
    }),
    'providers.p.token_endpoint_auth_method: is not used by kind "static"',
  ],
  [
    "provider http revocation endpoint",
    doc({ tail: `${GITHUB}\nrevocation_endpoint = "http://github.com/revoke"` }),
    "providers.github.revocation_endpoint: must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])",
  ],
  [
    "provider jwks fragment",
    doc({ tail: `${GITHUB}\njwks_uri = "https://github.com/keys#k"` }),
    "providers.github.jwks_uri: must not contain a fragment (#…)",
  ],
  [
    "provider base_url relative",
    doc({ tail: `${GITHUB}\nbase_url = "gitlab.example"` }),
    "providers.github.base_url: must be an absolute URL",
  ],
  [
    "provider scopes not array",
    doc({ tail: `${GITHUB}\nscopes = "repo"` }),
    "providers.github.scopes: must be an array",
  ],
  [
    "provider scope with space",
    doc({ tail: `${GITHUB}\nscopes = ["repo", "read user"]` }),
    "providers.github.scopes[1]: is not a valid scope token",
  ],
  [
    "provider scope not string",
    doc({ tail: `${GITHUB}\nscopes = ["repo", 1]` }),
    "providers.github.scopes[1]: must be a string",
  ],
  [
    "provider upstream empty",
    doc({ tail: `${GITHUB}\nupstreams = [""]` }),
    "providers.github.upstreams[0]: must not be empty",
  ],
  [
    "provider jwt flag",
    doc({ tail: `${GITHUB}\njwt_access_tokens = "yes"` }),
    "providers.github.jwt_access_tokens: must be true or false",
  ],
  ["providers not a table", doc({ root: `${ROOT}\nproviders = 1` }), "providers: must be a table"],
  // policy
  [
    "policy unknown provider",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "spiffe://x/*"\nproviders = ["github", "gitlab"]` }),
    'policy[0].providers[1]: names no configured provider ("gitlab")',
  ],
  [
    "policy empty workload",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = ""\nproviders = ["github"]` }),
    "policy[0].workload: must not be empty",
  ],
  [
    "policy workload space",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "spiffe://x/a b"\nproviders = ["github"]` }),
    "policy[0].workload: must be a glob of printable characters without spaces",
  ],
  [
    "policy no providers",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "*"\nproviders = []` }),
    "policy[0].providers: must have at least 1 item(s)",
  ],
  [
    "policy missing workload",
    doc({
      tail: `${GITHUB}\n[[policy]]\nproviders = ["github"]\n[[policy]]\nworkload = "x"\nproviders = ["github"]`,
    }),
    "policy[0].workload: is required",
  ],
  [
    "policy second rule",
    doc({
      tail: `${GITHUB}\n[[policy]]\nworkload = "a"\nproviders = ["github"]\n[[policy]]\nworkload = "b"\nproviders = ["nope"]`,
    }),
    'policy[1].providers[0]: names no configured provider ("nope")',
  ],
  [
    "policy unknown key, reported before the required key it was meant to be",
    doc({ tail: `${GITHUB}\n[[policy]]\nworkload = "a"\nprovider = ["github"]` }),
    "policy[0].provider: unknown key (did you mean providers?), and policy[0].providers: is required",
  ],
  [
    "a misspelled required key: the typo first",
    `issuer = "https://x"\n[agent]\ntls_certificate = "a.pem"\ntls_key = "a.key"\nclient_ca = "ca.pem"\n[keys]\nsigning = "file:s"\nencryption = "file:e"`,
    "agent.tls_certificate: unknown key (did you mean tls_cert?), and agent.tls_cert: is required",
  ],
  ["policy as table", doc({ tail: '[policy]\nworkload = "a"' }), "policy: must be an array"],
  [
    "datetime value",
    doc({ root: `${ROOT}\ntoken_ttl = 1979-05-27T07:32:00Z` }),
    'token_ttl: must be a duration such as "90s", "15m" or "1h" (or a whole number of seconds)',
  ],
];

describe("each invalid configuration stops loading with a key-prefixed message", () => {
  test.each(cases)("%s", async (_name, text, message) => {
    await expectRefused(text, message);
  });
});

describe("limits", () => {
  test("a text larger than 1 MiB is refused before parsing", async () => {
    await expectRefused(`# ${"x".repeat(1024 * 1024)}\n${doc({})}`, "config: is larger than 1048576 bytes");
  });

  test("more than 64 providers are refused", async () => {
    const many = Array.from(
      { length: 65 },
      (_, i) => `[providers.p${i}]\nkind = "static"\nupstreams = ["a.example"]`,
    );
    await expectRefused(doc({ tail: many.join("\n") }), "providers: must have at most 64 entries");
  });

  test("a literal secret is never echoed in the message", async () => {
    const secret = "GOCSPX-do-not-print-me";
    const error = await configFailure(() =>
      parseConfig(
        doc({ tail: provider(`kind = "google"\nclient_id = "i"\nclient_secret = "${secret}"`) }),
        ENV,
      ),
    );
    expect(error.message).not.toContain(secret);
  });

  test("a redis password is never echoed in the message", async () => {
    const error = await configFailure(() =>
      parseConfig(doc({ tail: '[rendezvous]\nurl = "http://:s3cr3t-pw@redis:6379"' }), ENV),
    );
    expect(error.message).not.toContain("s3cr3t-pw");
  });
});

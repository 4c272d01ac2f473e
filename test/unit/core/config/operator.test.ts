import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../../src/core/config/load.ts";
import { configFailure } from "./failure.ts";

const BASE = `
issuer = "https://broker.example.com"
[agent]
tls_cert = "/s.pem"
tls_key = "/s.key"
client_ca = "/ca.pem"
[keys]
signing = "env:S"
encryption = "env:E"
[providers.corp]
kind = "oidc"
issuer = "https://idp.corp.example"
client_id = "surrogate"
client_secret = "env:CORP_SECRET"
[providers.gh]
kind = "github"
client_id = "Iv1.abc"
client_secret = "env:CORP_SECRET"
`;
const HASH = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
const API_TOKEN = "a".repeat(16) + "B".repeat(16);
const ENV = {
  CORP_SECRET: "s3cret",
  ADMIN_HASH: HASH,
  METRICS_TOKEN: "metrics-bearer",
  SHORT_TOKEN: "s3cret-but-short",
  API_TOKEN,
};

const parse = (extra: string, env: Record<string, string> = ENV) => parseConfig(`${BASE}\n${extra}`, env);

describe("[admin]", () => {
  test("absent: no admin (the UI stays closed), audit defaults to all requests", async () => {
    const config = await parse("");
    expect(config.admin).toBeUndefined();
    expect(config.metrics).toBeUndefined();
    expect(config.audit).toEqual({ proxyRequests: "all", sampleRate: 0.1 });
  });

  test("password hash and provider login with an allow-list", async () => {
    const config = await parse(`[admin]
password = "env:ADMIN_HASH"
provider = "corp"
allow = ["alice@corp.example", "sub:1234"]
session_idle = "5m"`);
    expect(config.admin?.passwordHash?.reveal()).toBe(HASH);
    expect(config.admin?.provider).toBe("corp");
    expect(config.admin?.allow).toEqual(["alice@corp.example", "sub:1234"]);
    expect(config.admin?.sessionIdle).toBe(300);
  });

  test("api_token alone opens the API (from a secret reference, at least 32 characters)", async () => {
    const config = await parse(`[admin]\napi_token = "env:API_TOKEN"`);
    expect(config.admin?.apiToken?.reveal()).toBe(API_TOKEN);
    expect(config.admin?.passwordHash).toBeUndefined();
  });

  test("an htpasswd bcrypt hash ($2y$) is accepted, and Bun.password verifies it", async () => {
    // bcrypt of "correct horse" with the $2y$ prefix htpasswd -B writes (the same algorithm as $2b$).
    const htpasswd = "$2y$04$vURIcYphTX27d2KJUb7W0OSt1sjbw25fPIjO/cwuSKXigUQUw7sSu";
    const config = await parse(`[admin]\npassword = "env:ADMIN_HASH"`, { ...ENV, ADMIN_HASH: htpasswd });
    expect(config.admin?.passwordHash?.reveal()).toBe(htpasswd);
    expect(await Bun.password.verify("correct horse", htpasswd)).toBe(true);
    expect(await Bun.password.verify("correct horsE", htpasswd)).toBe(false);
  });

  test("a hash Bun.password cannot verify (md5-crypt) stops start-up", async () => {
    const error = await configFailure(() =>
      parse(`[admin]\npassword = "env:ADMIN_HASH"`, { ...ENV, ADMIN_HASH: "$1$salt$hashhashhash" }),
    );
    expect(error.message).toStartWith("admin.password: must reference a password hash");
  });

  test("session_idle defaults to 15 minutes", async () => {
    expect((await parse(`[admin]\npassword = "env:ADMIN_HASH"`)).admin?.sessionIdle).toBe(900);
  });

  test.each([
    ["[admin]", "admin: needs password, provider or api_token"],
    ['[admin]\napi_token = "env:SHORT_TOKEN"', "admin.api_token: must be at least 32"],
    ['[admin]\npassword = "$argon2id$literal"', "admin.password: a literal secret is not accepted"],
    ['[admin]\npassword = "env:CORP_SECRET"', "admin.password: must reference a password hash"],
    ['[admin]\nprovider = "nope"\nallow = ["a@b.c"]', "admin.provider: names no configured provider"],
    ['[admin]\nprovider = "gh"\nallow = ["a@b.c"]', "admin.provider: must be an OpenID Connect provider"],
    ['[admin]\nprovider = "corp"', "admin.allow: must list who may sign in"],
    ['[admin]\nprovider = "corp"\nallow = ["alice"]', "admin.allow[0]: must be an email address or sub:"],
    ['[admin]\npassword = "env:ADMIN_HASH"\nsession_idle = "0s"', "admin.session_idle:"],
    ['[admin]\npassword = "env:ADMIN_HASH"\nopen = true', "admin.open: unknown key"],
  ])("%p is refused", async (extra, message) => {
    const error = await configFailure(() => parse(extra));
    expect(error.message.startsWith(message)).toBe(true);
    expect(error.message).not.toContain("s3cret");
  });
});

describe("[metrics] and [audit]", () => {
  test("bearer from a secret reference", async () => {
    const config = await parse('[metrics]\nbearer = "env:METRICS_TOKEN"');
    expect(config.metrics?.bearer?.reveal()).toBe("metrics-bearer");
  });

  test("a literal bearer is refused", async () => {
    const error = await configFailure(() => parse('[metrics]\nbearer = "metrics-bearer"'));
    expect(error.message).toStartWith("metrics.bearer:");
    expect(error.message).not.toContain("metrics-bearer");
  });

  test("proxy request auditing modes", async () => {
    const config = await parse('[audit]\nproxy_requests = "sampled"\nsample_rate = 0.25');
    expect(config.audit).toEqual({ proxyRequests: "sampled", sampleRate: 0.25 });
  });

  test.each([
    ['[audit]\nproxy_requests = "some"', 'audit.proxy_requests: must be "all", "errors" or "sampled"'],
    ["[audit]\nsample_rate = 2", "audit.sample_rate: must be at most 1"],
    ['[audit]\nsample_rate = "x"', "audit.sample_rate: must be a number"],
  ])("%p is refused", async (extra, message) => {
    expect((await configFailure(() => parse(extra))).message).toBe(message);
  });
});

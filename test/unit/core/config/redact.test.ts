import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../../../src/core/config/load.ts";
import { redactConfig } from "../../../../src/core/config/redact.ts";

const BASE = `issuer = "https://broker.example.com"
[agent]
tls_cert = "/a/server.pem"
tls_key = "/a/server.key"
client_ca = "/a/ca.pem"
[keys]
signing = "env:SIGNING_JWKS"
encryption = "env:ENCRYPTION_JWKS"
[providers.github]
kind = "github"
client_id = "Iv1.abc"
client_secret = "env:GH_SECRET"
`;
const SECRET = "gh-secret-that-must-not-leak";

describe("redactConfig", () => {
  test("replaces client secrets and keeps everything else", async () => {
    const config = await parseConfig(BASE, { GH_SECRET: SECRET });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    expect(text).not.toContain(SECRET);
    expect(redacted.providers).toEqual({
      github: { name: "github", kind: "github", clientId: "Iv1.abc", clientSecret: "[redacted]" },
    });
    expect(redacted.issuer).toBe("https://broker.example.com");
    expect(redacted.rendezvous).toMatchObject({ url: "memory:", grantTtl: 600 });
    expect(Bun.inspect(redacted)).not.toContain(SECRET);
  });

  test.each([
    ["redis://:s3cret@redis:6379/0", "redis://[redacted]@redis:6379/0"],
    ["rediss://user:s3cret@redis:6380", "rediss://[redacted]@redis:6380"],
    ["redis://tok3n-s3cret@redis", "redis://[redacted]@redis"],
    ["redis://u:p@ss%40s3cret@redis", "redis://[redacted]@redis"],
    ["redis://redis:6379", "redis://redis:6379"],
  ])("a rendezvous URL %p is logged as %p", async (url, expected) => {
    const config = await parseConfig(`${BASE}[rendezvous]\nurl = "env:REDIS"\n`, {
      GH_SECRET: SECRET,
      REDIS: url,
    });
    const redacted = redactConfig(config);
    expect(redacted.rendezvous).toMatchObject({ url: expected });
    expect(JSON.stringify(redacted)).not.toContain("s3cret");
  });

  test("does not modify the configuration it redacts", async () => {
    const config = await parseConfig(`${BASE}[rendezvous]\nurl = "env:REDIS"\n`, {
      GH_SECRET: SECRET,
      REDIS: "redis://:pw@r",
    });
    redactConfig(config);
    expect(config.rendezvous.url).toBe("redis://:pw@r");
    expect(config.providers.github?.clientSecret?.reveal()).toBe(SECRET);
  });
});

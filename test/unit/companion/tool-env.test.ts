import { describe, expect, test } from "bun:test";
import { caBundle, childEnv, PLACEHOLDER_TOKEN } from "../../../src/companion/tool-env.ts";

const input = {
  port: 41000,
  credential: "cred",
  bundlePath: "/tmp/x/ca-bundle.pem",
  providers: [
    { name: "gh", kind: "github" },
    { name: "corp", kind: "oidc" },
  ],
  extra: [{ variable: "OPENAI_API_KEY", provider: "openai" }],
};

describe("the child's environment", () => {
  test("proxy, CA bundle, base URL and placeholders; the companion's own inputs withheld", () => {
    const env = childEnv(
      {
        PATH: "/usr/bin",
        SURROGATE_BROKER: "https://b",
        SURROGATE_CERT: "/c.pem",
        SURROGATE_KEY: "/k.pem",
        SURROGATE_CA: "/ca.pem",
        GH_TOKEN: "a-real-token-the-parent-had",
      },
      input,
    );
    expect(env.PATH).toBe("/usr/bin");
    for (const name of ["SURROGATE_BROKER", "SURROGATE_CERT", "SURROGATE_KEY", "SURROGATE_CA"]) {
      expect(env[name]).toBeUndefined();
    }
    // A real token the parent held is replaced: the child gets the placeholder only.
    expect(env.GH_TOKEN).toBe(PLACEHOLDER_TOKEN);
    expect(env.GITHUB_TOKEN).toBe(PLACEHOLDER_TOKEN);
    expect(env.OPENAI_API_KEY).toBe(PLACEHOLDER_TOKEN);
    expect(env.GITLAB_TOKEN).toBeUndefined();
    expect(env.HTTPS_PROXY).toBe("http://surrogate:cred@127.0.0.1:41000");
    expect(env.http_proxy).toBe(env.HTTPS_PROXY);
    expect(env.GIT_SSL_CAINFO).toBe("/tmp/x/ca-bundle.pem");
    expect(env.SURROGATE_BASE_URL).toBe("http://127.0.0.1:41000/_/cred");
  });

  test("the bundle is the roots a tool trusted before, then the companion's CA", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const path = `${process.env.TMPDIR ?? "/tmp"}/surrogate-roots-${process.pid}.pem`;
    await Bun.write(path, "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n");
    const bundle = await caBundle(ca, { SSL_CERT_FILE: path });
    expect(bundle).toStartWith("-----BEGIN CERTIFICATE-----\nROOT");
    expect(bundle).toEndWith(ca);
    const fallback = await caBundle(ca, { SSL_CERT_FILE: "/nonexistent" });
    expect((fallback.match(/BEGIN CERTIFICATE/g) ?? []).length).toBeGreaterThan(50);
  });
});

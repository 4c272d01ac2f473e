import type { Config } from "../../src/core/config/types.ts";

/**
 * A complete Config with the loader's defaults, for tests that build their dependencies by hand
 * (no TOML, no files: TLS paths and key sources are placeholders nothing reads). Callers override
 * what their test is about.
 */
export function baseConfig(overrides: Partial<Config> & Pick<Config, "issuer">): Config {
  return {
    tokenTtl: 3600,
    web: { listen: { host: "127.0.0.1", port: 0 } },
    agent: {
      listen: { host: "127.0.0.1", port: 0 },
      tlsCert: "/dev/null",
      tlsKey: "/dev/null",
      clientCa: "/dev/null",
      headersTimeout: 10,
      idleTimeout: 60,
      requestTimeout: 300,
      upstreamTimeout: 30,
      maxConnectionAge: 3600,
      maxHeaderSize: 16384,
      publicUrl: "https://127.0.0.1:8443",
    },
    keys: { signing: "env:UNUSED", encryption: "env:UNUSED" },
    rendezvous: {
      url: "memory:",
      grantTtl: 600,
      interval: 5,
      maxPendingPerWorkload: 5,
      maxPendingTotal: 100,
    },
    providers: {},
    policy: [],
    ...overrides,
  };
}

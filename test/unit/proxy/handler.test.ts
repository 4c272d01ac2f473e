import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentRequest } from "../../../src/agent-port/http1/types.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { newRule } from "../../../src/core/access/revocation.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import { describeCertificate } from "../../../src/core/identity/certificate.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { parseInjection } from "../../../src/core/provider/inject.ts";
import type { ResolvedProvider } from "../../../src/core/provider/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import type { WrapperKind } from "../../../src/core/token/types.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { createProxyHandler, type ProxyDeps } from "../../../src/proxy/handler.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { type TestPki, testPki } from "../../helpers/pki.ts";
import { bearerProvider } from "../../helpers/providers.ts";
import { type Canary, startCanary, startUpstream, type Upstream } from "../../helpers/upstream.ts";

const ISSUER = "https://broker.test";
const REAL = "gho_REAL_UPSTREAM_TOKEN_0123456789";

let pki: TestPki;
let keys: KeySets;
let otherKeys: KeySets;
let alpha: ClientIdentity;
let beta: ClientIdentity;
let upstream: Upstream;
let canary: Canary;

beforeAll(async () => {
  [pki, keys, otherKeys, canary] = await Promise.all([
    testPki(),
    testKeySets(),
    testKeySets(),
    startCanary(),
  ]);
  alpha = describeCertificate(pki.alpha.der);
  beta = describeCertificate(pki.beta.der);
  upstream = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
});

afterAll(async () => {
  await Promise.all([upstream.stop(), canary.stop()]);
});

function provider(
  name: string,
  upstreams: string[],
  inject = "Authorization: Bearer {token}",
  gitInject?: string,
): ResolvedProvider {
  return bearerProvider(name, upstreams, {
    inject: parseInjection(inject, `providers.${name}.inject`),
    ...(gitInject && { gitInject: parseInjection(gitInject, `providers.${name}.git_inject`) }),
  });
}

function deps(
  overrides: Partial<ProxyDeps> = {},
): ProxyDeps & { logger: ReturnType<typeof createMemoryLogger> } {
  const providers = new Map<string, ResolvedProvider>([
    [
      "corp",
      provider("corp", [`127.0.0.1:${upstream.port}`, `http://127.0.0.1:${canary.port}`, "api.example.com"]),
    ],
    ["apikey", provider("apikey", [`127.0.0.1:${upstream.port}`], "x-api-key: {token}")],
    ["git", provider("git", [`127.0.0.1:${upstream.port}`], "Authorization: Basic {basic:x-access-token}")],
    [
      "forge",
      provider(
        "forge",
        [`127.0.0.1:${upstream.port}`],
        "Authorization: Bearer {token}",
        "Authorization: Basic {basic:oauth2}",
      ),
    ],
  ]);
  return {
    providers,
    policy: new PolicyGate([{ workload: "**", providers: [...providers.keys()] }]),
    revocations: new RevocationList(),
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now: Date.now,
    upstreamTimeout: 10,
    upstreamCa: pki.ca.certPem,
    ...overrides,
    logger: createMemoryLogger(),
  };
}

async function wrapper(
  options: { client?: ClientIdentity; kind?: WrapperKind; provider?: string; keys?: KeySets } = {},
): Promise<string> {
  const minted = await mintWrapper(
    {
      kind: options.kind ?? "access",
      provider: options.provider ?? "corp",
      binding: { kind: "x5t#S256", value: (options.client ?? alpha).thumbprint },
      secret: { token: new Secret(REAL), type: options.kind === "refresh" ? "refresh" : "Bearer" },
    },
    options.keys ?? keys,
    { issuer: ISSUER, tokenTtl: 600, now: Date.now() },
  );
  return minted.token;
}

interface RequestOptions {
  token?: string;
  client?: ClientIdentity;
  method?: string;
  headers?: Array<[string, string]>;
  body?: ReadableStream<Uint8Array>;
}

function agentRequest(target: string, options: RequestOptions = {}): AgentRequest {
  const rawHeaders: Array<[string, string]> = [
    ...(options.token === undefined
      ? []
      : [["Authorization", `Bearer ${options.token}`] as [string, string]]),
    ...(options.headers ?? []),
  ];
  const headers = new Headers();
  for (const [name, value] of rawHeaders) if (/^[\x20-\x7e]*$/.test(value)) headers.append(name, value);
  return {
    method: options.method ?? "GET",
    target,
    rawHeaders,
    headers,
    body: options.body ?? null,
    signal: new AbortController().signal,
    client: options.client ?? alpha,
  };
}

async function problemOf(response: Response): Promise<{ status: number; code: string; text: string }> {
  const text = await response.text();
  return { status: response.status, code: (JSON.parse(text) as { code: string }).code, text };
}

describe("proxy handler: swapping", () => {
  test("the upstream receives the real token, never the wrapper, on the one parsed host", async () => {
    const token = await wrapper();
    const d = deps();
    const before = upstream.requests.length;
    const response = await createProxyHandler(d)(
      agentRequest(`/127.0.0.1:${upstream.port}/repos/x?page=2`, {
        token,
        headers: [
          ["Host", "evil.test"],
          ["Connection", "authorization"],
          ["X-Forwarded-Client-Cert", "forged"],
        ],
      }),
    );
    expect(response.status).toBe(200);
    const seen = upstream.requests.slice(before);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.path).toBe("/repos/x?page=2");
    expect(request?.headers.get("authorization")).toBe(`Bearer ${REAL}`);
    expect(request?.headers.get("host")).toBe(`127.0.0.1:${upstream.port}`);
    expect(request?.headers.has("x-forwarded-client-cert")).toBe(false);
    for (const [, value] of request?.headers ?? []) expect(value).not.toContain(token);
    for (const [, value] of response.headers) expect(value).not.toContain(REAL);
    const line = d.logger.lines.at(-1) ?? "";
    expect(JSON.parse(line)).toMatchObject({
      kind: "access",
      workload: alpha.workload,
      provider: "corp",
      method: "GET",
      host: `127.0.0.1:${upstream.port}`,
      path: "/repos/x",
      status: 200,
    });
    expect(line).not.toContain(REAL);
    expect(line).not.toContain(token);
    expect(line).not.toContain("page=2");
  });

  test("the provider's injection format is used, and the client's Authorization is not forwarded", async () => {
    const token = await wrapper({ provider: "apikey" });
    const before = upstream.requests.length;
    const response = await createProxyHandler(deps())(
      agentRequest(`/127.0.0.1:${upstream.port}/v1/messages`, {
        token,
        method: "POST",
        headers: [["X-Api-Key", "client-chosen"]],
      }),
    );
    expect(response.status).toBe(200);
    const request = upstream.requests[before];
    expect(request?.headers.get("x-api-key")).toBe(REAL);
    expect(request?.headers.has("authorization")).toBe(false);
  });

  test("the Basic form sends x-access-token:<token>, and the echo of it comes back masked", async () => {
    const token = await wrapper({ provider: "git" });
    const before = upstream.requests.length;
    const response = await createProxyHandler(deps())(
      agentRequest(`/127.0.0.1:${upstream.port}/org/repo.git/info/refs?service=git-upload-pack`, { token }),
    );
    expect(response.status).toBe(200);
    const basic = Buffer.from(`x-access-token:${REAL}`).toString("base64");
    expect(upstream.requests[before]?.headers.get("authorization")).toBe(`Basic ${basic}`);
    const echoed = await response.text();
    expect(echoed).not.toContain(basic);
    expect(echoed).toContain('"Basic ');
    expect(echoed).toContain("[redacted]");
  });

  test("git_inject: git's requests get Basic oauth2:<token>, the API on the same host keeps Bearer", async () => {
    const token = await wrapper({ provider: "forge" });
    const handler = createProxyHandler(deps());
    const basic = `Basic ${Buffer.from(`oauth2:${REAL}`).toString("base64")}`;
    for (const [path, expected] of [
      ["/group/project.git/info/refs?service=git-upload-pack", basic],
      ["/group/project.git/git-upload-pack", basic],
      ["/api/v4/projects/1", `Bearer ${REAL}`],
    ] as const) {
      const before = upstream.requests.length;
      const response = await handler(agentRequest(`/127.0.0.1:${upstream.port}${path}`, { token }));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(upstream.requests[before]?.headers.get("authorization")).toBe(expected);
    }
  });

  test("a second request with the same wrapper (cached) still swaps, and another certificate is still refused", async () => {
    const token = await wrapper();
    const handler = createProxyHandler(deps());
    const target = `/127.0.0.1:${upstream.port}/again`;
    expect((await handler(agentRequest(target, { token }))).status).toBe(200);
    expect((await handler(agentRequest(target, { token }))).status).toBe(200);
    expect((await problemOf(await handler(agentRequest(target, { token, client: beta })))).code).toBe(
      "binding_mismatch",
    );
  });

  test("without upstream_ca the test upstream's certificate is not trusted: 502", async () => {
    const token = await wrapper();
    const { upstreamCa: _, ...rest } = deps();
    const response = await createProxyHandler(rest)(agentRequest(`/127.0.0.1:${upstream.port}/`, { token }));
    expect((await problemOf(response)).code).toBe("upstream_unreachable");
  });
});

describe("proxy handler: refusals never reach an upstream", () => {
  const cases: Array<[string, () => Promise<AgentRequest>, number, string]> = [
    ["no Authorization", async () => agentRequest(`/127.0.0.1:${canary.port}/`), 401, "missing_token"],
    [
      "Basic instead of Bearer",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { headers: [["Authorization", "Basic eDp5"]] }),
      401,
      "missing_token",
    ],
    [
      "two Authorization headers",
      async () =>
        agentRequest(`/127.0.0.1:${canary.port}/`, {
          token: await wrapper(),
          headers: [["Authorization", `Bearer ${await wrapper()}`]],
        }),
      400,
      "invalid_request",
    ],
    [
      "wrapper bound to another certificate",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper(), client: beta }),
      401,
      "binding_mismatch",
    ],
    [
      "wrapper from other keys",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper({ keys: otherKeys }) }),
      401,
      "invalid_token",
    ],
    [
      "refresh wrapper",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper({ kind: "refresh" }) }),
      401,
      "invalid_token",
    ],
    [
      "wrapper for an unconfigured provider",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper({ provider: "gone" }) }),
      401,
      "invalid_token",
    ],
    [
      "not a JWT",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: "not.a.jwt" }),
      401,
      "invalid_token",
    ],
    [
      "userinfo",
      async () => agentRequest(`/127.0.0.1:${canary.port}@evil.test/`, { token: await wrapper() }),
      400,
      "bad_target",
    ],
    [
      "encoded slash",
      async () => agentRequest("/evil.test%2f/", { token: await wrapper() }),
      400,
      "bad_target",
    ],
    [
      "dot-segment",
      async () => agentRequest(`/127.0.0.1:${canary.port}/../evil.test/`, { token: await wrapper() }),
      400,
      "bad_target",
    ],
    ["IPv6 literal", async () => agentRequest("/[::1]/", { token: await wrapper() }), 400, "bad_target"],
    ["hex IPv4", async () => agentRequest("/0x7f.1/", { token: await wrapper() }), 400, "bad_target"],
    [
      "absolute-form",
      async () => agentRequest(`http://127.0.0.1:${canary.port}/`, { token: await wrapper() }),
      400,
      "bad_target",
    ],
    [
      "allowed host as a prefix",
      async () => agentRequest("/api.example.com.evil.test/", { token: await wrapper() }),
      403,
      "host_not_allowed",
    ],
    [
      "metadata endpoint",
      async () => agentRequest("/169.254.169.254/latest/meta-data/", { token: await wrapper() }),
      403,
      "host_not_allowed",
    ],
    [
      "allowed host on another port",
      async () => agentRequest(`/127.0.0.1:${canary.port}:1/`, { token: await wrapper() }),
      400,
      "bad_target",
    ],
    [
      "TRACE",
      async () => agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper(), method: "TRACE" }),
      400,
      "invalid_request",
    ],
    [
      "GET with a body (fetch could not send it)",
      async () =>
        agentRequest(`/127.0.0.1:${canary.port}/`, { token: await wrapper(), body: new Response("x").body! }),
      400,
      "invalid_request",
    ],
    [
      "Content-Length with Transfer-Encoding",
      async () =>
        agentRequest(`/127.0.0.1:${canary.port}/`, {
          token: await wrapper(),
          method: "POST",
          headers: [
            ["Content-Length", "4"],
            ["Transfer-Encoding", "chunked"],
          ],
        }),
      400,
      "invalid_request",
    ],
  ];

  const titled = cases.map(
    ([name, build, status, code]) => [`${name} → ${status} ${code}`, build, status, code] as const,
  );
  test.each(titled)("%s", async (_title, build, status, code) => {
    const d = deps();
    const response = await createProxyHandler(d)(await build());
    const result = await problemOf(response);
    expect(result.status).toBe(status);
    expect(result.code).toBe(code);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(result.text).not.toContain(REAL);
    expect(canary.connections()).toBe(0);
    expect(JSON.parse(d.logger.lines.at(-1) ?? "{}")).toMatchObject({ kind: "access", status, code });
  });

  test("an expired wrapper is refused (injected clock)", async () => {
    const token = await wrapper();
    const handler = createProxyHandler(deps({ now: () => Date.now() + 3_600_000 }));
    const result = await problemOf(await handler(agentRequest(`/127.0.0.1:${canary.port}/`, { token })));
    expect(result).toMatchObject({ status: 401, code: "invalid_token" });
    expect(canary.connections()).toBe(0);
  });

  test("a wrapper cached as valid is not served past its exp", async () => {
    const token = await wrapper();
    let now = Date.now();
    const handler = createProxyHandler(deps({ now: () => now }));
    expect((await handler(agentRequest(`/127.0.0.1:${upstream.port}/`, { token }))).status).toBe(200);
    now += 3_600_000;
    const result = await problemOf(await handler(agentRequest(`/127.0.0.1:${canary.port}/`, { token })));
    expect(result.code).toBe("invalid_token");
    expect(canary.connections()).toBe(0);
  });

  test("policy on every request: a rule removed (SIGHUP) refuses a cached wrapper with 403 access_denied; others pass", async () => {
    const policy = new PolicyGate([{ workload: "**", providers: ["corp", "apikey"] }]);
    const handler = createProxyHandler(deps({ policy }));
    const held = await wrapper();
    const otherProvider = await wrapper({ provider: "apikey" });
    const otherWorkload = await wrapper({ client: beta });
    expect((await handler(agentRequest(`/127.0.0.1:${upstream.port}/`, { token: held }))).status).toBe(200);
    // alpha keeps apikey only; beta keeps corp.
    policy.replace([
      { workload: alpha.workload, providers: ["apikey"] },
      { workload: beta.workload, providers: ["corp"] },
    ]);
    const refused = await handler(agentRequest(`/127.0.0.1:${canary.port}/`, { token: held }));
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(await problemOf(refused)).toMatchObject({ status: 403, code: "access_denied" });
    expect(canary.connections()).toBe(0);
    const target = `/127.0.0.1:${upstream.port}/`;
    expect((await handler(agentRequest(target, { token: otherProvider }))).status).toBe(200);
    expect((await handler(agentRequest(target, { token: otherWorkload, client: beta }))).status).toBe(200);
  });

  test('revocation on every request: a revoked wrapper in the verification cache → 401 invalid_token "revoked"', async () => {
    const revocations = new RevocationList();
    const handler = createProxyHandler(deps({ revocations }));
    const held = await wrapper();
    const otherProvider = await wrapper({ provider: "apikey" });
    const target = `/127.0.0.1:${upstream.port}/`;
    expect((await handler(agentRequest(target, { token: held }))).status).toBe(200);
    revocations.add(newRule({ provider: "corp" }, "test", Date.now()), Date.now());
    const refused = await handler(agentRequest(`/127.0.0.1:${canary.port}/`, { token: held }));
    expect(refused.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const body = JSON.parse(await refused.text());
    expect({ status: refused.status, code: body.code, detail: body.detail }).toEqual({
      status: 401,
      code: "invalid_token",
      detail: "revoked",
    });
    expect(canary.connections()).toBe(0);
    expect((await handler(agentRequest(target, { token: otherProvider }))).status).toBe(200);
  });

  test("the canary does count connections", async () => {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: canary.port, socket: { data() {} } });
    socket.end();
    for (let i = 0; i < 100 && canary.connections() === 0; i++) await Bun.sleep(5);
    expect(canary.connections()).toBe(1);
    canary = await resetCanary(canary);
  });
});

async function resetCanary(old: Canary): Promise<Canary> {
  await old.stop();
  return startCanary();
}

describe("proxy handler: forwarding", () => {
  async function withUpstream(
    handler: (request: Request) => Response | Promise<Response>,
    run: (target: string) => Promise<void>,
  ): Promise<void> {
    const server = await startUpstream({ handler: (request) => handler(request) });
    try {
      await run(`/127.0.0.1:${server.port}`);
    } finally {
      await server.stop();
    }
  }

  function plainDeps(port: number, overrides: Partial<ProxyDeps> = {}): ProxyDeps {
    return deps({
      providers: new Map([["corp", provider("corp", [`http://127.0.0.1:${port}`])]]),
      ...overrides,
    });
  }

  test.each([301, 302, 303, 307, 308])("a %d is returned unfollowed, Location untouched", async (status) => {
    const location = `http://127.0.0.1:${canary.port}/steal?x=%2e%2e`;
    await withUpstream(
      () => new Response(null, { status, headers: { location } }),
      async (target) => {
        const port = Number(target.split(":")[1]);
        const response = await createProxyHandler(plainDeps(port))(
          agentRequest(`${target}/login`, { token: await wrapper() }),
        );
        expect(response.status).toBe(status);
        expect(response.headers.get("location")).toBe(location);
        expect(canary.connections()).toBe(0);
      },
    );
  });

  test("scrubbing off: compressed bytes, status and every Set-Cookie pass through untouched", async () => {
    const compressed = Bun.gzipSync(new TextEncoder().encode("hello ".repeat(1000)));
    await withUpstream(
      () => {
        const response = new Response(compressed, {
          status: 201,
          headers: { "content-encoding": "gzip", "content-type": "text/plain" },
        });
        response.headers.append("set-cookie", "a=1");
        response.headers.append("set-cookie", "b=2");
        return response;
      },
      async (target) => {
        const port = Number(target.split(":")[1]);
        const response = await createProxyHandler(plainDeps(port, { scrubResponses: false }))(
          agentRequest(`${target}/`, { token: await wrapper(), headers: [["Accept-Encoding", "gzip"]] }),
        );
        expect(response.status).toBe(201);
        expect(response.headers.get("content-encoding")).toBe("gzip");
        expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
        expect(new Uint8Array(await response.arrayBuffer())).toEqual(compressed);
      },
    );
  });

  test("sequential requests reuse one pooled TLS connection to the upstream", async () => {
    const pooled = await startUpstream({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    try {
      const handler = createProxyHandler(
        deps({ providers: new Map([["corp", provider("corp", [`127.0.0.1:${pooled.port}`])]]) }),
      );
      const token = await wrapper();
      for (let i = 0; i < 5; i++) {
        const response = await handler(agentRequest(`/127.0.0.1:${pooled.port}/${i}`, { token }));
        await response.arrayBuffer();
      }
      expect(pooled.requests).toHaveLength(5);
      expect(pooled.connections()).toBe(1);
    } finally {
      await pooled.stop();
    }
  });

  test("a client that goes away cancels the upstream transfer", async () => {
    let cancelled = () => {};
    const upstreamCancelled = new Promise<void>((resolve) => {
      cancelled = resolve;
    });
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: (controller) => controller.enqueue(new Uint8Array(65536)),
          cancel: () => cancelled(),
        }),
      );
    await withUpstream(endless, async (target) => {
      const port = Number(target.split(":")[1]);
      const client = new AbortController();
      const request = {
        ...agentRequest(`${target}/stream`, { token: await wrapper() }),
        signal: client.signal,
      };
      const response = await createProxyHandler(plainDeps(port))(request);
      const reader = response.body!.getReader();
      await reader.read();
      client.abort();
      await upstreamCancelled;
      await reader.cancel().catch(() => undefined);
    });
  }, 10_000);

  test("an upstream that is down → 502 upstream_unreachable", async () => {
    const closed = await startCanary();
    const port = closed.port;
    await closed.stop();
    const response = await createProxyHandler(plainDeps(port))(
      agentRequest(`/127.0.0.1:${port}/`, { token: await wrapper() }),
    );
    expect(await problemOf(response)).toMatchObject({ status: 502, code: "upstream_unreachable" });
  });

  test("an upstream that never answers → 504 upstream_timeout", async () => {
    let release = () => {};
    const hanging = new Promise<Response>((resolve) => {
      release = () => resolve(new Response("late"));
    });
    await withUpstream(
      () => hanging,
      async (target) => {
        const port = Number(target.split(":")[1]);
        const response = await createProxyHandler(plainDeps(port, { upstreamTimeout: 0.2 }))(
          agentRequest(`${target}/`, { token: await wrapper() }),
        );
        expect(await problemOf(response)).toMatchObject({ status: 504, code: "upstream_timeout" });
        release();
      },
    );
  });
});

describe("proxy handler: streaming", () => {
  const SIZE = 50 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  /**
   * A fully buffered body puts all 50 MB in flight (52 MB measured with a buffering proxy). Without
   * buffering, what is in flight sits in loopback TCP buffers, which Linux grows under load: ~8 MB
   * on a quiet machine, 29.7 MB seen once on a loaded one (with live process memory still below the
   * second check's bound). The bound sits between the two.
   */
  const MAX_IN_FLIGHT = 40 * 1024 * 1024;

  /**
   * Counts bytes produced at one end and consumed at the other. A slow consumer makes buffering
   * visible as bytes in flight. Memory is sampled as a second check: live memory (JS heap plus
   * ArrayBuffers) after a full collection every 8 MB, since raw RSS also counts garbage not yet
   * collected and so depends on what earlier tests in the same process left behind.
   */
  function flow() {
    const live = () => {
      Bun.gc(true);
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const baseline = live();
    const state = { produced: 0, consumed: 0, maxInFlight: 0, peakLive: baseline };
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.produced >= SIZE) return controller.close();
        state.produced += CHUNK;
        state.maxInFlight = Math.max(state.maxInFlight, state.produced - state.consumed);
        controller.enqueue(new Uint8Array(CHUNK).fill(7));
      },
    });
    async function consume(body: ReadableStream<Uint8Array> | null): Promise<number> {
      const reader = body!.getReader();
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        state.consumed += step.value.byteLength;
        if (state.consumed % (8 * 1024 * 1024) < step.value.byteLength) {
          state.peakLive = Math.max(state.peakLive, live());
        }
        if (state.consumed % (1024 * 1024) < step.value.byteLength) await Bun.sleep(1);
      }
      return state.consumed;
    }
    return { source, consume, state, memoryGrowth: () => state.peakLive - baseline };
  }

  test("a 50 MB upload streams through without being buffered", async () => {
    const f = flow();
    const server = await startUpstream({
      handler: async (request) => new Response(String(await f.consume(request.body))),
    });
    try {
      const handler = createProxyHandler(
        deps({ providers: new Map([["corp", provider("corp", [`http://127.0.0.1:${server.port}`])]]) }),
      );
      const response = await handler(
        agentRequest(`/127.0.0.1:${server.port}/upload`, {
          token: await wrapper(),
          method: "PUT",
          body: f.source,
        }),
      );
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(String(SIZE));
      expect(f.state.maxInFlight).toBeLessThan(MAX_IN_FLIGHT);
      expect(f.memoryGrowth()).toBeLessThan(SIZE / 2);
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("a 50 MB download streams through without being buffered", async () => {
    const f = flow();
    const server = await startUpstream({ handler: () => new Response(f.source) });
    try {
      const handler = createProxyHandler(
        deps({ providers: new Map([["corp", provider("corp", [`http://127.0.0.1:${server.port}`])]]) }),
      );
      const response = await handler(
        agentRequest(`/127.0.0.1:${server.port}/download`, { token: await wrapper() }),
      );
      expect(response.status).toBe(200);
      expect(await f.consume(response.body)).toBe(SIZE);
      expect(f.state.maxInFlight).toBeLessThan(MAX_IN_FLIGHT);
      expect(f.memoryGrowth()).toBeLessThan(SIZE / 2);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

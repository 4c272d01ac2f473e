/**
 * Response scrubbing as applied to a whole response (unit), and through the real proxy handler
 * against an echoing upstream on a real socket: the issue #9 attack, where a compromised agent
 * sends its request to an allowed endpoint that reflects the injected Authorization header back.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from "node:zlib";
import type { AgentRequest } from "../../../src/agent-port/http1/types.ts";
import { PolicyGate } from "../../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../../src/core/access/revocation-list.ts";
import { ProxyError } from "../../../src/core/errors.ts";
import { describeCertificate } from "../../../src/core/identity/certificate.ts";
import type { ClientIdentity } from "../../../src/core/identity/types.ts";
import type { KeySets } from "../../../src/core/keys/types.ts";
import { Secret } from "../../../src/core/secret.ts";
import { mintWrapper } from "../../../src/core/token/mint.ts";
import { createMemoryLogger } from "../../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../../src/proxy/handler.ts";
import { maskOf } from "../../../src/proxy/scrub.ts";
import { askForIdentity, scrubResponse } from "../../../src/proxy/scrub-response.ts";
import { testKeySets } from "../../helpers/keys.ts";
import { testPki } from "../../helpers/pki.ts";
import { bearerProvider } from "../../helpers/providers.ts";
import { startUpstream, type Upstream } from "../../helpers/upstream.ts";

const TOKEN = "gho_R3al/T0ken+With=Specials_0123456789abcdef";
const MASK = new TextDecoder().decode(maskOf(TOKEN.length));
const bytes = (text: string) => new TextEncoder().encode(text);

describe("scrubResponse", () => {
  const secret = new Secret(TOKEN);
  const body = `{"authorization":"Bearer ${TOKEN}"}`;

  test("body already scrubbed in the relay: the head is still scrubbed, each field and the status text", async () => {
    const PLAIN = "gho_R3alT0kenAbc";
    const cases: Array<[string, ResponseInit]> = [
      ["status text", { statusText: `OK ${PLAIN}` }],
      ["header value", { headers: [["x-echo", `Bearer ${PLAIN}`]] }],
      ["header name", { headers: [[`x-${PLAIN.toLowerCase()}`, "1"]] }],
      [
        "set-cookie",
        {
          headers: [
            ["set-cookie", "a=1"],
            ["set-cookie", `b=${PLAIN}`],
          ],
        },
      ],
    ];
    for (const [label, init] of cases) {
      const upstream = new Response("relayed", init);
      const scrubbed = await scrubResponse(upstream, new Secret(PLAIN), true);
      expect(scrubbed, label).not.toBe(upstream);
      expect(JSON.stringify([scrubbed.statusText, [...scrubbed.headers]]), label).not.toContain(PLAIN);
      expect(JSON.stringify([scrubbed.statusText, [...scrubbed.headers]]).toLowerCase(), label).not.toContain(
        PLAIN.toLowerCase(),
      );
      expect(await scrubbed.text(), label).toBe("relayed");
    }
    const clean = new Response("relayed", { statusText: "OK", headers: [["x-echo", "nothing here"]] });
    expect(await scrubResponse(clean, secret, true)).toBe(clean);
  });

  test("asks the upstream for identity", () => {
    const headers = new Headers({ "accept-encoding": "gzip, br" });
    askForIdentity(headers);
    expect(headers.get("accept-encoding")).toBe("identity");
  });

  test("identity body, header values, header names, status text; Content-Length and cookies kept", async () => {
    const upstream = new Response(body, {
      status: 201,
      statusText: `Created ${TOKEN}`,
      headers: [
        ["content-length", String(body.length)],
        ["x-echo-authorization", `Bearer ${TOKEN}`],
        [`x-${TOKEN.toLowerCase().replace(/[^a-z0-9_-]/g, "")}`, "1"],
        [`x-reflected-${TOKEN.slice(0, 4).toLowerCase()}`, "kept"],
        ["set-cookie", "a=1"],
        ["set-cookie", `b=${TOKEN}`],
      ],
    });
    const scrubbed = await scrubResponse(upstream, secret, false);
    expect(scrubbed.status).toBe(201);
    expect(scrubbed.statusText).toBe(`Created ${MASK}`);
    expect(scrubbed.headers.get("x-echo-authorization")).toBe(`Bearer ${MASK}`);
    expect(scrubbed.headers.get("content-length")).toBe(String(body.length));
    expect(scrubbed.headers.getSetCookie()).toEqual(["a=1", `b=${MASK}`]);
    expect(scrubbed.headers.get("x-reflected-gho_")).toBe("kept");
    expect(await scrubbed.text()).toBe(body.replace(TOKEN, MASK));
  });

  test("a token reflected into a header name is dropped with its header", async () => {
    const plain = "abcdefghijklmnopqrstuvwxyz0123456789";
    const upstream = new Response(null, { headers: { [`x-${plain}`]: "1", other: "2" } });
    const scrubbed = await scrubResponse(upstream, new Secret(plain), false);
    expect([...scrubbed.headers.keys()]).toEqual(["other"]);
  });

  const encoders: Array<[string, (input: Buffer) => Buffer]> = [
    ["gzip", gzipSync],
    ["x-gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
    ["zstd", zstdCompressSync],
  ];
  for (const [coding, encode] of encoders) {
    test(`an upstream that compressed anyway (${coding}) is decoded, scanned and passed as identity`, async () => {
      const encoded = encode(Buffer.from(body));
      const upstream = new Response(new Uint8Array(encoded), {
        headers: { "content-encoding": coding, "content-length": String(encoded.length) },
      });
      const scrubbed = await scrubResponse(upstream, secret, false);
      expect(scrubbed.headers.get("content-encoding")).toBeNull();
      expect(scrubbed.headers.get("content-length")).toBeNull();
      expect(await scrubbed.text()).toBe(body.replace(TOKEN, MASK));
    });
  }

  test("two layers (gzip then br) are undone in reverse order", async () => {
    const encoded = brotliCompressSync(gzipSync(Buffer.from(body)));
    const upstream = new Response(new Uint8Array(encoded), { headers: { "content-encoding": "gzip, br" } });
    expect(await (await scrubResponse(upstream, secret, false)).text()).toBe(body.replace(TOKEN, MASK));
  });

  for (const coding of ["compress", "x-custom", "gzip, gzip, gzip"]) {
    test(`a coding that cannot be decoded (${coding}) is refused, the body cancelled`, async () => {
      let cancelled = false;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(bytes(body));
        },
        cancel() {
          cancelled = true;
        },
      });
      const upstream = new Response(stream, { headers: { "content-encoding": coding } });
      const refused = await scrubResponse(upstream, secret, false).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ProxyError);
      expect((refused as ProxyError).code).toBe("upstream_unreachable");
      expect((refused as ProxyError).message).not.toContain(TOKEN);
      expect(cancelled).toBe(true);
    });
  }

  test("a response without a body", async () => {
    const scrubbed = await scrubResponse(new Response(null, { status: 204 }), secret, false);
    expect(scrubbed.status).toBe(204);
    expect(scrubbed.body).toBeNull();
  });
});

const ISSUER = "https://broker.test";
let keys: KeySets;
let client: ClientIdentity;
let echo: Upstream;

/**
 * Reflects the request's Authorization header in a response header and in the body, the body sent
 * in two chunks split at `?split=N` (a pause between them so they leave as separate writes).
 * `?gzip=1` compresses although the proxy asked for identity.
 */
async function echoHandler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const authorization = request.headers.get("authorization") ?? "";
  const body = bytes(
    `{"seen":{"authorization":"${authorization}","encoding":"${request.headers.get("accept-encoding")}"}}`,
  );
  const headers = { "x-echo-authorization": authorization, "content-type": "application/json" };
  if (url.searchParams.has("gzip")) {
    return new Response(new Uint8Array(gzipSync(body)), {
      headers: { ...headers, "content-encoding": "gzip" },
    });
  }
  const at = url.searchParams.get("split");
  if (at === null) return new Response(body, { headers });
  const split = Number(at);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(body.subarray(0, split));
      await Bun.sleep(1);
      controller.enqueue(body.subarray(split));
      controller.close();
    },
  });
  return new Response(stream, { headers });
}

beforeAll(async () => {
  const pki = await testPki();
  keys = await testKeySets();
  client = describeCertificate(pki.alpha.der);
  echo = await startUpstream({ handler: echoHandler });
});
afterAll(() => echo.stop());

function handler(scrubResponses?: boolean) {
  const provider = bearerProvider("corp", [`http://127.0.0.1:${echo.port}`]);
  const logger = createMemoryLogger();
  const proxy = createProxyHandler({
    providers: new Map([["corp", provider]]),
    policy: new PolicyGate([{ workload: "**", providers: ["corp"] }]),
    revocations: new RevocationList(),
    keys: () => keys,
    issuer: ISSUER,
    fetch,
    now: Date.now,
    logger,
    upstreamTimeout: 10,
    ...(scrubResponses === undefined ? {} : { scrubResponses }),
  });
  return { proxy, logger };
}

async function request(path: string): Promise<AgentRequest> {
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: "corp",
      binding: { kind: "x5t#S256", value: client.thumbprint },
      secret: { token: new Secret(TOKEN), type: "Bearer" },
    },
    keys,
    { issuer: ISSUER, tokenTtl: 600, now: Date.now() },
  );
  const rawHeaders: Array<[string, string]> = [
    ["Authorization", `Bearer ${minted.token}`],
    ["Accept-Encoding", "gzip, br"],
  ];
  return {
    method: "GET",
    target: `/127.0.0.1:${echo.port}${path}`,
    rawHeaders,
    headers: new Headers(rawHeaders),
    body: null,
    signal: new AbortController().signal,
    client,
  };
}

describe("proxy handler with an echoing upstream", () => {
  test("a whole body: masked with its length and Content-Length unchanged", async () => {
    const { proxy } = handler();
    const response = await proxy(await request("/"));
    const text = await response.text();
    expect(text).toContain(`"authorization":"Bearer ${MASK}"`);
    expect(response.headers.get("content-length")).toBe(String(bytes(text).length));
    expect(response.headers.get("x-echo-authorization")).toBe(`Bearer ${MASK}`);
  });

  test("the echo is masked in the header and the body, the body split at every offset", async () => {
    const { proxy, logger } = handler();
    const bodyLength = (await (await proxy(await request("/"))).arrayBuffer()).byteLength;
    for (let split = 0; split <= bodyLength; split += 1) {
      const response = await proxy(await request(`/?split=${split}`));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-echo-authorization")).toBe(`Bearer ${MASK}`);
      const text = await response.text();
      expect(text).toHaveLength(bodyLength);
      expect(text).toContain(`"authorization":"Bearer ${MASK}"`);
      expect(text).not.toContain(TOKEN);
      expect(echo.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    }
    expect(logger.lines.join("\n")).not.toContain(TOKEN);
  });

  test("the upstream is asked for identity whatever the agent accepts", async () => {
    const { proxy } = handler();
    const text = await (await proxy(await request("/"))).text();
    expect(text).toContain('"encoding":"identity"');
    expect(echo.requests.at(-1)?.headers.get("accept-encoding")).toBe("identity");
  });

  test("an upstream that compresses anyway is decoded, masked and passed as identity", async () => {
    const { proxy } = handler();
    const response = await proxy(await request("/?gzip=1"));
    expect(response.headers.get("content-encoding")).toBeNull();
    const text = await response.text();
    expect(text).toContain(`"authorization":"Bearer ${MASK}"`);
    expect(text).not.toContain(TOKEN);
  });

  test("control: with scrub_responses = false the echo comes back as the upstream sent it", async () => {
    const { proxy } = handler(false);
    const response = await proxy(await request("/?split=20"));
    expect(response.headers.get("x-echo-authorization")).toBe(`Bearer ${TOKEN}`);
    const text = await response.text();
    expect(text).toContain(`"authorization":"Bearer ${TOKEN}"`);
    expect(text).toContain('"encoding":"gzip, br"');
  });
});

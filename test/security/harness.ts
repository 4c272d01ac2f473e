/**
 * Shared rig for the attack suites: the REAL proxy handler (createProxyHandler) with real keys, a
 * real recording upstream, a second upstream used as a redirect target, a TCP canary, a memory
 * logger, and a fetch that records every URL the proxy tried to dial. Attack cases assert on these
 * counters: a refusal is only a refusal if nothing reached an upstream and no secret leaked.
 */

import { expect } from "bun:test";
import { connect, type SecureVersion } from "node:tls";
import type { AgentHandler, AgentRequest } from "../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../src/agent-port/server.ts";
import { PolicyGate } from "../../src/core/access/policy-gate.ts";
import { RevocationList } from "../../src/core/access/revocation-list.ts";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { parseUpstream } from "../../src/core/provider/allowlist.ts";
import { parseInjection } from "../../src/core/provider/inject.ts";
import type { ResolvedProvider, UpstreamRule } from "../../src/core/provider/types.ts";
import { Secret } from "../../src/core/secret.ts";
import { mintWrapper } from "../../src/core/token/mint.ts";
import { sealSecret } from "../../src/core/token/seal.ts";
import { createMemoryLogger, type Logger } from "../../src/ops/log/logger.ts";
import { createProxyHandler } from "../../src/proxy/handler.ts";
import { startTestAgent } from "../helpers/agent-server.ts";
import { testKeySets } from "../helpers/keys.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { rawBody } from "../helpers/raw-http.ts";
import {
  type Canary,
  countBytes,
  type RecordedRequest,
  startCanary,
  startUpstream,
  type Upstream,
} from "../helpers/upstream.ts";

export { rawBody };

export const ISSUER = "https://broker.test";
/** The real upstream token: it must never appear in a response, a header or a log line. */
export const REAL = "real-upstream-token-canary-7c41e0";
export const PROVIDER = "corp";
/** A DNS upstream that is allowed but never resolved: the recording fetch refuses to dial it. */
export const ALLOWED_DNS = "api.allowed.test";
export const WILDCARD_SUFFIX = "wild.allowed.test";

export interface Rig {
  pki: TestPki;
  keys: KeySets;
  /** Keys rotated out: their kids are not in `keys`. */
  retired: KeySets;
  upstream: Upstream;
  /** Only ever named in Location headers: any request here is a followed redirect. */
  second: Upstream;
  canary: Canary;
  logger: Logger & { lines: string[] };
  handler: AgentHandler;
  /** Every URL the proxy passed to fetch, in order. */
  dials: string[];
  /** Handler invocations (counts requests that got past the TLS and HTTP layers). */
  calls: () => number;
  /** Fixed epoch ms seen by the handler: a whole second plus 500 ms, so boundaries are exact. */
  clock: number;
  stop(): Promise<void>;
}

export async function startRig(): Promise<Rig> {
  const [pki, keys, retired, canary, second] = await Promise.all([
    testPki(),
    testKeySets(),
    testKeySets(),
    startCanary(),
    startUpstream(),
  ]);
  const upstream = await startUpstream({ handler: redirecting(second.origin) });
  const dials: string[] = [];
  const logger = createMemoryLogger();
  const clock = Math.floor(Date.now() / 1000) * 1000 + 500;
  const recordingFetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    dials.push(url);
    // Only loopback upstreams are real in tests; a DNS name would leak to the resolver.
    if (new URL(url).hostname !== "127.0.0.1") return Promise.reject(new TypeError("test: dial refused"));
    return fetch(input, init);
  }) as typeof fetch;
  const inner = createProxyHandler({
    providers: new Map([[PROVIDER, provider(upstream, canary)]]),
    policy: new PolicyGate([{ workload: "**", providers: [PROVIDER] }]),
    revocations: new RevocationList(),
    keys: () => keys,
    issuer: ISSUER,
    fetch: recordingFetch,
    now: () => clock,
    logger,
    upstreamTimeout: 10,
  });
  let calls = 0;
  const handler: AgentHandler = (request) => {
    calls += 1;
    return inner(request);
  };
  return {
    ...{ pki, keys, retired, canary, upstream, second, logger, handler, dials, clock },
    calls: () => calls,
    stop: async () => {
      await Promise.all([canary.stop(), upstream.stop(), second.stop()]);
    },
  };
}

/**
 * `/status/NNN` answers NNN with a Location on the second upstream (a redirect a careless proxy would
 * follow, token and all); anything else echoes the Authorization the upstream received.
 */
function redirecting(secondOrigin: string) {
  return async (request: Request, recorded: RecordedRequest): Promise<Response> => {
    recorded.bodySize = await countBytes(request.body);
    const status = /^\/status\/(\d{3})$/.exec(recorded.path)?.[1];
    if (status !== undefined) {
      return new Response(null, { status: Number(status), headers: { location: `${secondOrigin}/landed` } });
    }
    return Response.json({ authorization: request.headers.get("authorization"), path: recorded.path });
  };
}

function provider(upstream: Upstream, canary: Canary): ResolvedProvider {
  const entries = [
    `http://127.0.0.1:${upstream.port}`,
    `http://127.0.0.1:${canary.port}`,
    ALLOWED_DNS,
    `*.${WILDCARD_SUFFIX}`,
  ];
  // Rules that parseUpstream refuses, as a profile or a wildcard could still produce them:
  // isAllowed must refuse metadata hosts whatever the rules say.
  const metadata: UpstreamRule[] = ["169.254.169.254", "metadata.google.internal"].map((host) => ({
    scheme: "http",
    host,
    port: 80,
    wildcard: false,
  }));
  return {
    name: PROVIDER,
    kind: "oidc",
    upstreams: [...entries.map((e) => parseUpstream(e, "upstreams")), ...metadata],
    inject: parseInjection("Authorization: Bearer {token}", "inject"),
    scopes: [],
    jwtAccessTokens: false,
    oidc: true,
  };
}

/** A real access wrapper bound to `cert`, minted at the rig's clock. */
export async function wrapperFor(rig: Rig, cert: IssuedCertificate, keys = rig.keys): Promise<string> {
  const minted = await mintWrapper(
    {
      kind: "access",
      provider: PROVIDER,
      binding: { kind: "x5t#S256", value: thumbprintOf(cert.der) },
      secret: { token: new Secret(REAL), type: "Bearer" },
    },
    keys,
    { issuer: ISSUER, tokenTtl: 600, now: rig.clock },
  );
  return minted.token;
}

/** A real `tok` (JWE of the real token) under the rig's encryption key. */
export function realTok(rig: Rig, keys = rig.keys): Promise<string> {
  return sealSecret({ token: new Secret(REAL), type: "Bearer" }, keys);
}

export interface CallOptions {
  authorization?: string | undefined;
  target?: string;
  method?: string;
  headers?: Array<readonly [string, string]>;
  cert?: IssuedCertificate;
}

/** Calls the real proxy handler as the holder of `cert` (default alpha) would arrive after mTLS. */
export function call(rig: Rig, options: CallOptions): Promise<Response> {
  const rawHeaders: Array<readonly [string, string]> = [
    ...(options.authorization === undefined ? [] : [["Authorization", options.authorization] as const]),
    ...(options.headers ?? []),
  ];
  const request: AgentRequest = {
    method: options.method ?? "GET",
    target: options.target ?? `/127.0.0.1:${rig.upstream.port}/user`,
    rawHeaders,
    headers: lenientHeaders(rawHeaders),
    body: null,
    signal: new AbortController().signal,
    client: describeCertificate((options.cert ?? rig.pki.alpha).der),
  };
  return rig.handler(request);
}

/** A Headers view that skips values the Headers class refuses (the raw list keeps them all). */
function lenientHeaders(rawHeaders: ReadonlyArray<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of rawHeaders) {
    try {
      headers.append(name, value);
    } catch {
      // node:http would have refused it earlier; the handler must still cope with the raw pair.
    }
  }
  return headers;
}

export interface Snapshot {
  upstream: number;
  second: number;
  canary: number;
  dials: number;
}

export function snapshot(rig: Rig): Snapshot {
  return {
    upstream: rig.upstream.requests.length,
    second: rig.second.requests.length,
    canary: rig.canary.connections(),
    dials: rig.dials.length,
  };
}

/** Nothing was dialled and no upstream or canary saw a connection since `before`. */
export function expectNoUpstreamContact(rig: Rig, before: Snapshot): void {
  expect(snapshot(rig)).toEqual(before);
}

/** No response byte, header or log line carries the real token (or any extra secret given). */
export function expectNoLeak(rig: Rig, texts: string[], secrets: string[] = []): void {
  const haystack = [...texts, ...rig.logger.lines].join("\n");
  for (const secret of [REAL, ...secrets.filter((s) => s.length >= 16)])
    expect(haystack.includes(secret)).toBe(false);
}

/** Status line, headers and body of a Response as text, for leak scans. */
export async function responseText(response: Response): Promise<string> {
  const headers = [...response.headers].map(([n, v]) => `${n}: ${v}`).join("\n");
  return `${response.status}\n${headers}\n\n${await response.text()}`;
}

/** Asserts an RFC 9457 refusal with `status` and `code`, no upstream contact, no leak. */
export async function expectRefused(
  rig: Rig,
  response: Response,
  before: Snapshot,
  status: number,
  code: string,
  secrets: string[] = [],
): Promise<void> {
  const text = await responseText(response);
  expect({ status: response.status, type: response.headers.get("content-type") }).toEqual({
    status,
    type: "application/problem+json",
  });
  expect((JSON.parse(text.slice(text.indexOf("\n\n") + 2)) as { code: string }).code).toBe(code);
  expectNoUpstreamContact(rig, before);
  expectNoLeak(rig, [text], secrets);
}

export const LIMITS = { headersTimeout: 10, idleTimeout: 30, requestTimeout: 60, maxHeaderSize: 16384 };

/** The real agent port (Bun.listen, in-code chain check) in front of the rig's handler. */
export function startAgent(rig: Rig): Promise<AgentServer> {
  return startTestAgent(rig.pki, rig.handler, { limits: LIMITS, logger: rig.logger });
}

export interface RawClient {
  certPem?: string;
  keyPem?: string;
  /** The only TLS version the client offers (default: what it supports). */
  version?: SecureVersion;
}

export interface RawResult {
  /** The TLS handshake completed from the client's point of view (TLS 1.3 may still refuse after). */
  handshake: boolean;
  /** Every byte the server sent, latin1. */
  raw: string;
  /** Status of the first response, 0 when there was none. */
  status: number;
}

/** Connects over TLS as `client`, writes `bytes` exactly, and collects everything until close. */
export function rawExchange(port: number, ca: string, client: RawClient, bytes: string): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca,
      ...(client.certPem === undefined ? {} : { cert: client.certPem, key: client.keyPem }),
      ...(client.version === undefined ? {} : { minVersion: client.version, maxVersion: client.version }),
    });
    let handshake = false;
    let raw = "";
    const done = () => resolve({ handshake, raw, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0) });
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on("secureConnect", () => {
      handshake = true;
      socket.write(bytes, "latin1");
    });
    socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", done);
  });
}

/** The `code` of a problem+json in a raw response, or null when the body is not one. */
export function rawCode(raw: string): string | null {
  try {
    const value: unknown = JSON.parse(rawBody(raw));
    return typeof value === "object" && value !== null && "code" in value ? String(value.code) : null;
  } catch {
    return null;
  }
}

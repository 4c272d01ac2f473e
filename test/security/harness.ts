/**
 * Shared rig for the attack suites: the REAL proxy handler (createProxyHandler) with real keys, a
 * real recording upstream, a second upstream used as a redirect target, a TCP canary, a memory
 * logger, and a record of every URL the proxy tried to dial (its fetch, and the byte relay's
 * `ProxyDeps.dial`). Attack cases assert on these counters: a refusal is only a refusal if nothing
 * reached an upstream and no secret leaked.
 *
 * Each suite runs in both modes (MODES): `handler`, every request through the handler and fetch;
 * `relay`, the byte relay on, as in production, so a request whose wrapper is cached is served as
 * bytes. `warm` and `pathSince` prove which path answered, so a relay run cannot quietly fall back.
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
import { countPaths, type Path, type PathCounts, pathBetween } from "../helpers/proxy-paths.ts";
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

/** Which path serves a request whose wrapper is in the verification cache. */
export type Mode = "handler" | "relay";
export const MODES: readonly Mode[] = ["handler", "relay"];

export interface Rig {
  mode: Mode;
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
  /** Every URL the proxy passed to fetch or was about to send to on the relay, in order. */
  dials: string[];
  /** Requests that got past the TLS and HTTP layers: handler invocations plus offers to the relay. */
  calls: () => number;
  /** Requests handed to the handler, offered to the byte relay, and taken by it (relay mode only). */
  path: PathCounts;
  /** The agent port, once `startAgent` started it (relay-mode `call`s go through it). */
  agent?: AgentServer;
  /** Fixed epoch ms seen by the handler: a whole second plus 500 ms, so boundaries are exact. */
  clock: number;
  /** Moves the handler's clock `ms` past `clock` (0 puts it back). */
  later(ms: number): void;
  stop(): Promise<void>;
}

export async function startRig(mode: Mode = "handler"): Promise<Rig> {
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
  let offset = 0;
  const dial = (url: string) => {
    dials.push(url);
    // Only loopback upstreams are real in tests; a DNS name would leak to the resolver.
    return new URL(url).hostname === "127.0.0.1";
  };
  const recordingFetch = ((input: string | URL | Request, init?: RequestInit) => {
    if (!dial(String(input instanceof Request ? input.url : input)))
      return Promise.reject(new TypeError("test: dial refused"));
    return fetch(input, init);
  }) as typeof fetch;
  const inner = createProxyHandler({
    providers: new Map([[PROVIDER, provider(upstream, canary)]]),
    policy: new PolicyGate([{ workload: "**", providers: [PROVIDER] }]),
    revocations: new RevocationList(),
    keys: () => keys,
    issuer: ISSUER,
    fetch: recordingFetch,
    relay: mode === "relay",
    dial,
    now: () => clock + offset,
    logger,
    upstreamTimeout: 10,
  });
  const path = { handled: 0, offered: 0, took: 0 };
  const handler = countPaths(inner, path);
  return {
    ...{ mode, pki, keys, retired, canary, upstream, second, logger, handler, dials, clock, path },
    calls: () => path.handled + path.offered,
    later: (ms: number) => {
      offset = ms;
    },
    stop: async () => {
      await Promise.all([canary.stop(), upstream.stop(), second.stop()]);
    },
  };
}

/** Which path answered the one request sent since `before` (../helpers/proxy-paths.ts). */
export function pathSince(rig: Rig, before: PathCounts): Path {
  return pathBetween(before, rig.path);
}

/** The path a request that passes every check takes once its wrapper is cached. */
export const served = (rig: Rig): Mode => rig.mode;
/** The path of a request the proxy refuses: the relay (relay mode) leaves it to the handler. */
export const refused = (rig: Rig): "declined" | "handler" => (rig.mode === "relay" ? "declined" : "handler");

/**
 * Sends `wrapper` as `cert` (default alpha) once, so it is verified and cached, then once more and
 * proves which path served it: in relay mode the byte relay must have taken the second.
 */
export async function warm(rig: Rig, wrapper: string, cert = rig.pki.alpha): Promise<void> {
  expect((await call(rig, { authorization: `Bearer ${wrapper}`, cert })).status).toBe(200);
  const before = { ...rig.path };
  const response = await call(rig, { authorization: `Bearer ${wrapper}`, cert });
  expect({ status: response.status, path: pathSince(rig, before) }).toEqual({
    status: 200,
    path: served(rig),
  });
}

/**
 * `/status/NNN` answers NNN with a Location on the second upstream (a redirect a careless proxy would
 * follow, token and all); anything else echoes the Authorization the upstream received.
 */
function redirecting(secondOrigin: string) {
  return async (request: Request, recorded: RecordedRequest): Promise<Response> => {
    recorded.bodySize = await countBytes(request.body);
    const leak = /^\/leak\/([a-z-]+)$/.exec(recorded.path)?.[1];
    if (leak !== undefined) return leaking(leak, request.headers.get("authorization") ?? "");
    const status = /^\/status\/(\d{3})$/.exec(recorded.path)?.[1];
    if (status !== undefined) {
      return new Response(null, { status: Number(status), headers: { location: `${secondOrigin}/landed` } });
    }
    return Response.json({ authorization: request.headers.get("authorization"), path: recorded.path });
  };
}

/** `/leak/KIND`: the received Authorization handed back in one of the ways an upstream might. */
function leaking(kind: string, authorization: string): Response {
  const token = authorization.replace(/^Bearer /, "");
  switch (kind) {
    case "header":
      return new Response("ok", {
        headers: { "x-echo": authorization, "www-authenticate": `Bearer realm="${token}"` },
      });
    case "name":
      return new Response("ok", { headers: { [`x-${token}`]: "1" } });
    case "location":
      return new Response(null, {
        status: 302,
        headers: { location: `/next?t=${encodeURIComponent(token)}` },
      });
    case "cookie":
      return new Response("ok", { headers: { "set-cookie": `t=${token}; Path=/` } });
    case "forms":
      return new Response([token, JSON.stringify(token), encodeURIComponent(token), btoa(token)].join("\n"));
    case "gzip":
      return new Response(Bun.gzipSync(`{"t":"${token}"}`), { headers: { "content-encoding": "gzip" } });
    case "stream":
      return new Response(
        new ReadableStream({
          start(controller) {
            for (const char of `<${token}>`) controller.enqueue(new TextEncoder().encode(char));
            controller.close();
          },
        }),
      );
    default:
      return new Response("unknown leak", { status: 404 });
  }
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

/**
 * Calls the real proxy as the holder of `cert` (default alpha): in handler mode the handler itself,
 * as the request would arrive after mTLS; in relay mode through the agent port (`startAgent` first),
 * where the connection offers it to the byte relay before the handler.
 */
export function call(rig: Rig, options: CallOptions): Promise<Response> {
  if (rig.mode === "relay") return callThroughAgent(rig, options);
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

async function callThroughAgent(rig: Rig, options: CallOptions): Promise<Response> {
  if (rig.agent === undefined) throw new Error("call: in relay mode, startAgent(rig) first");
  const cert = options.cert ?? rig.pki.alpha;
  const fields = [
    ["Host", "localhost"],
    ...(options.authorization === undefined ? [] : [["Authorization", options.authorization]]),
    ...(options.headers ?? []),
    ["Connection", "close"],
  ];
  const head = `${options.method ?? "GET"} ${options.target ?? `/127.0.0.1:${rig.upstream.port}/user`} HTTP/1.1\r\n`;
  const bytes = `${head}${fields.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
  const { raw, status } = await rawExchange(rig.agent.port, rig.pki.ca.certPem, cert, bytes);
  return responseOf(raw, status);
}

/** A raw HTTP/1.1 answer as a Response (its body de-chunked), for the same assertions on both paths. */
function responseOf(raw: string, status: number): Response {
  if (status === 0)
    throw new Error(`call: no HTTP answer from the agent port: ${JSON.stringify(raw.slice(0, 200))}`);
  const lines = raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n").slice(1);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    // The Response below carries the de-chunked body: its own framing, not the wire's.
    if (name.toLowerCase() !== "transfer-encoding") headers.append(name, line.slice(colon + 1).trim());
  }
  const body = status === 204 || status === 304 || status < 200 ? null : Buffer.from(rawBody(raw), "latin1");
  return new Response(body, { status, headers });
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
export async function startAgent(rig: Rig): Promise<AgentServer> {
  rig.agent = await startTestAgent(rig.pki, rig.handler, { limits: LIMITS, logger: rig.logger });
  return rig.agent;
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

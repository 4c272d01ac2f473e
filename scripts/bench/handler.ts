/**
 * `bun scripts/bench/handler.ts [requests]`: what surrogate's own JavaScript costs per proxied
 * request, with no socket and no TLS. One process parses a request head, runs it through the agent
 * handler of `surrogate serve --role proxy` (real config, keys and wrapper; access lines formatted,
 * metrics observed) and writes the response with the HTTP/1.1 writer to a transport that takes
 * every byte. The upstream is a function answering a prebuilt 1 KiB response. Baseline, same run:
 * the same head parsing and writing around a handler that answers that response directly.
 * Then the byte relay (src/proxy/relay.ts) and, for comparison, the handler with Bun's fetch, both
 * against a real plain-HTTP upstream on loopback in this process; their rows are also given minus a
 * bare round trip to that upstream (one pooled socket, a fixed request), which both must pay.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { parseHead } from "../../src/agent-port/http1/head.ts";
import { AgentSocket } from "../../src/agent-port/http1/socket.ts";
import type { AgentHandler, AgentRequest } from "../../src/agent-port/http1/types.ts";
import { writeResponse } from "../../src/agent-port/http1/writer.ts";
import { createApp } from "../../src/app/app.ts";
import { resolveProviders } from "../../src/broker/providers/registry.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { describeCertificate } from "../../src/core/identity/certificate.ts";
import { keySetsFromJwks } from "../../src/core/keys/load.ts";
import { createLineBatcher } from "../../src/ops/log/batch.ts";
import { createLogger } from "../../src/ops/log/logger.ts";
import { BODY_BYTES } from "./lib/roles.ts";
import { serveConfig } from "./lib/serve.ts";
import { prepare } from "./lib/setup.ts";

const REQUESTS = Number(process.argv[2] ?? 100_000);
const WARMUP = Math.min(20_000, REQUESTS);
const BODY = "x".repeat(BODY_BYTES);

const upstream = (async () =>
  new Response(BODY, {
    headers: { "content-type": "text/plain", "content-length": String(BODY_BYTES) },
  })) as unknown as typeof fetch;

async function proxyHandler(dir: string, scrub: boolean, upstreamPort?: number): Promise<AgentHandler> {
  const generated = JSON.parse(readFileSync(join(dir, "keys.json"), "utf8"));
  writeFileSync(join(dir, "signing.jwks"), JSON.stringify(generated.signing));
  writeFileSync(join(dir, "encryption.jwks"), JSON.stringify(generated.encryption));
  // With a port: a real plain-HTTP upstream and Bun's own fetch, so the byte relay is on.
  const toml = serveConfig(dir, upstreamPort ?? 9)
    .replace("[agent]", `[agent]\nscrub_responses = ${scrub}`)
    .replace(`upstreams = ["127.0.0.1:${upstreamPort}"]`, `upstreams = ["http://127.0.0.1:${upstreamPort}"]`);
  const config = await parseConfig(toml, {});
  const send = upstreamPort === undefined ? upstream : fetch;
  const keys = await keySetsFromJwks(generated.signing, generated.encryption);
  const providers = await resolveProviders(config, { fetch: send, now: Date.now });
  const app = await createApp(config, {
    providers,
    keys: () => keys,
    fetch: send,
    now: Date.now,
    // Lines are formatted and dropped, as the batcher writes them out: kept in memory, tens of
    // thousands of them would make the collector, not the proxy, the thing measured.
    logger: createLogger(
      createLineBatcher(() => {}),
      "bench",
    ),
    role: "proxy",
  });
  return app.agent;
}

/** CPU µs per request: parse, handle, write; the writer's deferred uncork gets its turn each time. */
async function measure(
  label: string,
  handler: AgentHandler,
  head: string,
  client: AgentRequest["client"],
): Promise<number> {
  const transport = {
    write: (bytes: Uint8Array) => bytes.byteLength,
    end: () => undefined,
    terminate: () => undefined,
  };
  const socket = new AgentSocket(transport as unknown as Socket<unknown>);
  const once = async () => {
    const parsed = parseHead(head);
    const request: AgentRequest = {
      method: parsed.method,
      target: parsed.target,
      rawHeaders: parsed.rawHeaders,
      headers: new Headers(),
      body: null,
      signal: new AbortController().signal,
      client,
    };
    const response = await handler(request);
    if (response.status !== 200) throw new Error(`bench: status ${response.status}`);
    await writeResponse(socket, response, { method: parsed.method, minor: 1, keepAlive: true });
    await new Promise((resolve) => setImmediate(resolve));
  };
  return timed(label, once);
}

/**
 * Warm-up, then CPU µs per request over REQUESTS runs of `once`. With BENCH_GC_MARKS=1 the measured
 * loop is bracketed on stderr, so ./allocations.ts can read the collector's log (BUN_JSC_logGC)
 * between the marks and report bytes allocated per request.
 */
async function timed(label: string, once: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await once();
  const marks = Bun.env.BENCH_GC_MARKS === "1";
  if (marks) console.error("MARK start");
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await once();
  const used = process.cpuUsage(before);
  if (marks) console.error(`MARK end ${REQUESTS} ${label}`);
  return (used.user + used.system) / REQUESTS;
}

/** A 1 KiB answer to every request head, over plain TCP on loopback, in this process. */
function startRawUpstream(): { port: number; stop(): void } {
  const answer = Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY_BYTES}\r\n\r\n${BODY}`,
  );
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, bytes) {
        for (let at = bytes.indexOf("\r\n\r\n"); at >= 0; at = bytes.indexOf("\r\n\r\n", at + 4))
          socket.write(answer);
      },
    },
  });
  return { port: listener.port, stop: () => listener.stop(true) };
}

/** CPU µs per request on the byte relay: parse, the relay's checks and I/O, the upstream's answer. */
async function measureRelay(
  label: string,
  handler: AgentHandler,
  head: string,
  client: AgentRequest["client"],
) {
  const relay = handler.relay;
  if (relay === undefined) throw new Error("bench: the proxy offers no relay");
  const transport = {
    write: (bytes: Uint8Array) => bytes.byteLength,
    end: () => undefined,
    terminate: () => undefined,
  };
  const socket = new AgentSocket(transport as unknown as Socket<unknown>);
  const parsed = parseHead(head);
  // The first use of a wrapper is the handler's: it verifies and caches it.
  const request = {
    ...parsed,
    headers: new Headers(),
    body: null,
    signal: new AbortController().signal,
    client,
  };
  await (await handler(request)).arrayBuffer();
  const once = async () => {
    const { method, target, rawHeaders, minor } = parseHead(head);
    const call = relay({ method, target, rawHeaders, minor, keepAlive: true, client }, socket);
    if (call === undefined || (await call.done) !== true) throw new Error("bench: the relay did not answer");
  };
  return timed(label, once);
}

/** The same upstream round trip with nothing around it: one pooled socket, a fixed request. */
async function measureRoundTrip(port: number): Promise<number> {
  const expected =
    Buffer.byteLength(
      `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY_BYTES}\r\n\r\n`,
    ) + BODY_BYTES;
  let received = 0;
  let wake: () => void = () => {};
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, bytes) {
        received += bytes.byteLength;
        if (received >= expected) {
          received -= expected;
          wake();
        }
      },
    },
  });
  const request = "GET /items HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
  const once = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      socket.write(request);
    });
  const micros = await timed("round trip", once);
  socket.end();
  return micros;
}

const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-handler-"));
try {
  const material = await prepare(dir);
  const client = describeCertificate(material.client.der);
  const head =
    `GET /127.0.0.1:9/items HTTP/1.1\r\nhost: localhost:8443\r\nauthorization: Bearer ${material.wrapper}\r\n` +
    "accept: */*\r\nuser-agent: Bun/1.4.5\r\nconnection: keep-alive\r\naccept-encoding: gzip, deflate, br, zstd";
  const baseline = await measure("baseline", () => upstream("") as Promise<Response>, head, client);
  const rows: Array<[string, number]> = [["baseline: parse + write only", baseline]];
  for (const scrub of [false, true]) {
    const label = `proxy handler, scrubbing ${scrub ? "on (default)" : "off"}`;
    rows.push([label, await measure(label, await proxyHandler(dir, scrub), head, client)]);
  }
  const raw = startRawUpstream();
  try {
    const relayHead = head.replace("/127.0.0.1:9/", `/127.0.0.1:${raw.port}/`);
    const trip = await measureRoundTrip(raw.port);
    rows.push(["byte relay: the upstream round trip alone (loopback socket, both ends)", trip]);
    for (const scrub of [false, true]) {
      const handler = await proxyHandler(dir, scrub, raw.port);
      const on = scrub ? "on" : "off";
      const viaFetch = await measure(`handler with fetch, scrubbing ${on}`, handler, relayHead, client);
      rows.push([
        `proxy handler with fetch, scrubbing ${scrub ? "on" : "off"}, minus the round trip`,
        viaFetch - trip,
      ]);
      const relay = await measureRelay(`byte relay, scrubbing ${on}`, handler, relayHead, client);
      rows.push([`byte relay, scrubbing ${scrub ? "on" : "off"}, incl. the round trip`, relay]);
      rows.push([`byte relay, scrubbing ${scrub ? "on" : "off"}, minus the round trip`, relay - trip]);
    }
  } finally {
    raw.stop();
  }
  console.log(`Bun ${Bun.version}; ${REQUESTS} requests per row after ${WARMUP} warm-up; CPU per request\n`);
  console.log("| path | CPU µs / request | − baseline µs |\n|---|---|---|");
  for (const [name, micros] of rows)
    console.log(`| ${name} | ${micros.toFixed(1)} | ${(micros - baseline).toFixed(1)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

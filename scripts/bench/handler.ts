/**
 * `bun scripts/bench/handler.ts [requests]`: what surrogate's own JavaScript costs per proxied
 * request, with no socket and no TLS. One process parses a request head, runs it through the agent
 * handler of `surrogate serve --role proxy` (real config, keys and wrapper; access lines to memory,
 * metrics observed) and writes the response with the HTTP/1.1 writer to a transport that takes
 * every byte. The upstream is a function answering a prebuilt 1 KiB response. Baseline, same run:
 * the same head parsing and writing around a handler that answers that response directly.
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
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
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

async function proxyHandler(dir: string, scrub: boolean): Promise<AgentHandler> {
  const generated = JSON.parse(readFileSync(join(dir, "keys.json"), "utf8"));
  writeFileSync(join(dir, "signing.jwks"), JSON.stringify(generated.signing));
  writeFileSync(join(dir, "encryption.jwks"), JSON.stringify(generated.encryption));
  const config = await parseConfig(
    `${serveConfig(dir, 9)}`.replace("[agent]", `[agent]\nscrub_responses = ${scrub}`),
    {},
  );
  const keys = await keySetsFromJwks(generated.signing, generated.encryption);
  const providers = await resolveProviders(config, { fetch: upstream, now: Date.now });
  const app = await createApp(config, {
    providers,
    keys: () => keys,
    fetch: upstream,
    now: Date.now,
    logger: createMemoryLogger(),
    role: "proxy",
  });
  return app.agent;
}

/** CPU µs per request: parse, handle, write; the writer's deferred uncork gets its turn each time. */
async function measure(handler: AgentHandler, head: string, client: AgentRequest["client"]): Promise<number> {
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
  for (let i = 0; i < WARMUP; i++) await once();
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await once();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / REQUESTS;
}

const dir = mkdtempSync(join(tmpdir(), "surrogate-bench-handler-"));
try {
  const material = await prepare(dir);
  const client = describeCertificate(material.client.der);
  const head =
    `GET /127.0.0.1:9/items HTTP/1.1\r\nhost: localhost:8443\r\nauthorization: Bearer ${material.wrapper}\r\n` +
    "accept: */*\r\nuser-agent: Bun/1.4.5\r\nconnection: keep-alive\r\naccept-encoding: gzip, deflate, br, zstd";
  const baseline = await measure(() => upstream("") as Promise<Response>, head, client);
  const rows: Array<[string, number]> = [["baseline: parse + write only", baseline]];
  rows.push(["proxy handler, scrubbing off", await measure(await proxyHandler(dir, false), head, client)]);
  rows.push([
    "proxy handler, scrubbing on (default)",
    await measure(await proxyHandler(dir, true), head, client),
  ]);
  console.log(`Bun ${Bun.version}; ${REQUESTS} requests per row after ${WARMUP} warm-up; CPU per request\n`);
  console.log("| path | CPU µs / request | − baseline µs |\n|---|---|---|");
  for (const [name, micros] of rows)
    console.log(`| ${name} | ${micros.toFixed(1)} | ${(micros - baseline).toFixed(1)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

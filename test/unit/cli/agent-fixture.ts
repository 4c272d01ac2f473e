/**
 * Shared setup for the agent-side CLI tests: certificate files on disk (the CLI reads paths), a
 * real agent server (real TLS, required client certificates) whose handler a test scripts, and an
 * in-process runner with injectable stdin, TTY flag, sleep and clock.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import type { AgentHandler, AgentRequest } from "../../../src/agent-port/http1/types.ts";
import type { AgentServer } from "../../../src/agent-port/server.ts";
import { startTestAgent } from "../../helpers/agent-server.ts";
import { type TestPki, testPki } from "../../helpers/pki.ts";

export interface PkiFiles {
  dir: string;
  pki: TestPki;
  ca: string;
  otherCa: string;
  alphaCert: string;
  alphaKey: string;
  betaKey: string;
  otherClientCert: string;
  otherClientKey: string;
  expiredCert: string;
  expiredKey: string;
  garbage: string;
  cleanup(): Promise<void>;
}

export async function writePkiFiles(): Promise<PkiFiles> {
  const pki = await testPki();
  const dir = await mkdtemp(join(tmpdir(), "surrogate-cli-"));
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  return {
    dir,
    pki,
    ca: await file("ca.pem", pki.ca.certPem),
    otherCa: await file("other-ca.pem", pki.otherCa.certPem),
    alphaCert: await file("alpha.pem", pki.alpha.certPem),
    alphaKey: await file("alpha.key", pki.alpha.keyPem),
    betaKey: await file("beta.key", pki.beta.keyPem),
    otherClientCert: await file("other.pem", pki.bad.otherCa.certPem),
    otherClientKey: await file("other.key", pki.bad.otherCa.keyPem),
    expiredCert: await file("expired.pem", pki.bad.expired.certPem),
    expiredKey: await file("expired.key", pki.bad.expired.keyPem),
    garbage: await file("garbage.txt", "not a pem file\n"),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The agent port with a handler the test swaps; records every request body it saw. */
export interface ScriptedBroker {
  server: AgentServer;
  url: string;
  bodies: URLSearchParams[];
  handle: (request: AgentRequest, body: URLSearchParams) => Response | Promise<Response>;
}

export async function startScriptedBroker(pki: TestPki): Promise<ScriptedBroker> {
  const broker = {
    bodies: [] as URLSearchParams[],
    handle: (() => new Response("{}", { status: 500 })) as ScriptedBroker["handle"],
  } as ScriptedBroker;
  const handler: AgentHandler = async (request) => {
    const body = new URLSearchParams(await new Response(request.body).text());
    broker.bodies.push(body);
    return broker.handle(request, body);
  };
  broker.server = await startTestAgent(pki, handler);
  broker.url = `https://127.0.0.1:${broker.server.port}`;
  return broker;
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A sleep that advances a fake clock instead of waiting, recording each requested delay. */
export function fakeTime(start = Date.now()) {
  const clock = { now: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
  };
}

/**
 * A TCP relay in front of the broker that can go away and come back on the same port, the way a
 * restarting broker does: down() closes every relayed connection and the listener (new
 * connections are refused), up() listens again. TLS passes through untouched.
 */
export async function startRelay(targetPort: number) {
  const open = new Set<{ client: Socket<RelayData>; upstream?: Socket<undefined> }>();
  let listener: TCPSocketListener<RelayData> | undefined;
  let port = 0;
  const listen = () => {
    listener = Bun.listen<RelayData>({
      hostname: "127.0.0.1",
      port,
      socket: {
        async open(client) {
          const pair: { client: Socket<RelayData>; upstream?: Socket<undefined> } = { client };
          client.data = { pending: [], pair };
          open.add(pair);
          pair.upstream = await Bun.connect({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              data: (_socket, chunk) => void client.write(chunk),
              close: () => void client.end(),
              error: () => void client.end(),
            },
          });
          for (const chunk of client.data.pending) pair.upstream.write(chunk);
        },
        data(client, chunk) {
          if (client.data.pair.upstream) client.data.pair.upstream.write(chunk);
          else client.data.pending.push(chunk);
        },
        close(client) {
          client.data.pair.upstream?.end();
          open.delete(client.data.pair);
        },
      },
    });
    port = listener.port;
  };
  listen();
  let isDown = false;
  return {
    url: `https://127.0.0.1:${port}`,
    isDown: () => isDown,
    down() {
      isDown = true;
      listener?.stop(true);
      for (const pair of open) {
        pair.client.end();
        pair.upstream?.end();
      }
      open.clear();
    },
    up() {
      isDown = false;
      listen();
    },
    async stop() {
      listener?.stop(true);
      for (const pair of open) pair.client.end();
    },
  };
}

interface RelayData {
  pending: Uint8Array[];
  pair: { client: Socket<RelayData>; upstream?: Socket<undefined> };
}

/**
 * `surrogate agent` as a real process, spoken to with raw sockets and Bun's fetch: the proxy
 * credential, the allow-list refusals, base-URL mode and the --passthrough tunnel.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stat } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import {
  type CompanionWorld,
  REAL_TOKEN,
  startCompanionWorld,
  surrogateProcess,
} from "../../helpers/companion.ts";
import { type Canary, startCanary } from "../../helpers/upstream.ts";

let world: CompanionWorld;
let canary: Canary;
let echo: Server;
let echoPort: number;
const agents: Array<ReturnType<typeof surrogateProcess>> = [];

interface Running {
  dir: string;
  port: number;
  proxyUrl: string;
  credential: string;
  baseUrl: string;
  caPem: string;
}

async function startAgent(name: string, extra: string[] = []): Promise<Running> {
  const dir = join(world.dir, name);
  const agent = surrogateProcess(
    ["agent", "--listen", "127.0.0.1:0", "--dir", dir, "--tokens", world.tokens, ...extra],
    world.brokerEnv(),
  );
  agents.push(agent);
  const proxyPath = join(dir, "proxy-url");
  for (let i = 0; i < 400 && !(await Bun.file(proxyPath).exists()); i += 1) await Bun.sleep(25);
  const proxyUrl = (await Bun.file(proxyPath).text()).trim();
  const url = new URL(proxyUrl);
  return {
    dir,
    port: Number(url.port),
    proxyUrl,
    credential: url.password,
    baseUrl: (await Bun.file(join(dir, "base-url")).text()).trim(),
    caPem: await Bun.file(join(dir, "ca.pem")).text(),
  };
}

/** Sends `text` on a fresh connection and returns everything read until the server closes it. */
function exchange(port: number, text: string | Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.on("error", reject);
  });
}

function basic(credential: string): string {
  return `Proxy-Authorization: Basic ${Buffer.from(`surrogate:${credential}`).toString("base64")}\r\n`;
}

let plain: Running;
let passing: Running;

beforeAll(async () => {
  world = await startCompanionWorld((port) => [{ name: "demo", upstreams: [`127.0.0.1:${port}`] }]);
  await world.writeWrapper("demo");
  canary = await startCanary();
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as { port: number }).port;
  [plain, passing] = await Promise.all([startAgent("plain"), startAgent("passing", ["--passthrough"])]);
});

afterAll(async () => {
  for (const agent of agents) agent.child.kill("SIGTERM");
  await Promise.all(agents.map((agent) => agent.done));
  echo.close();
  await canary.stop();
  await world.close();
});

describe("surrogate agent", () => {
  test("writes its files mode 0600 in a 0700 directory; the env file holds the tool variables", async () => {
    expect((await stat(plain.dir)).mode & 0o777).toBe(0o700);
    for (const name of ["proxy-url", "base-url", "ca.pem", "ca-bundle.pem", "env"]) {
      expect((await stat(join(plain.dir, name))).mode & 0o777).toBe(0o600);
    }
    const env = await Bun.file(join(plain.dir, "env")).text();
    expect(env).toContain(`HTTPS_PROXY=${plain.proxyUrl}\n`);
    expect(env).toContain(`SSL_CERT_FILE=${join(plain.dir, "ca-bundle.pem")}\n`);
    expect(env).not.toContain("eyJ");
  });

  test("through the proxy with Bun's fetch: the upstream gets the real token", async () => {
    const before = world.upstream.requests.length;
    const response = await fetch(`https://127.0.0.1:${world.upstream.port}/via-proxy`, {
      proxy: plain.proxyUrl,
      tls: { ca: plain.caPem },
      headers: { authorization: "Bearer tool-sent-this" },
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(world.upstream.requests.length).toBe(before + 1);
    expect(world.upstream.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
  });

  test("base-URL mode: /_/<credential>/<host>/<path> over plain loopback HTTP", async () => {
    const response = await fetch(`${plain.baseUrl}/127.0.0.1:${world.upstream.port}/v1/models?limit=2`);
    expect(response.status).toBe(200);
    const seen = world.upstream.requests.at(-1);
    expect(seen?.path).toBe("/v1/models?limit=2");
    expect(seen?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
  });

  test("no or wrong proxy credential: 407 with a Basic challenge, for CONNECT, absolute-form and base URL", async () => {
    const target = `127.0.0.1:${world.upstream.port}`;
    const before = world.upstream.requests.length;
    for (const auth of ["", basic("wrong"), `Proxy-Authorization: Bearer ${plain.credential}\r\n`]) {
      const answer = await exchange(
        plain.port,
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`,
      );
      expect(answer).toStartWith("HTTP/1.1 407 ");
      expect(answer.toLowerCase()).toContain('proxy-authenticate: basic realm="surrogate"');
      expect(answer).toContain('"code":"proxy_auth_required"');
    }
    const absolute = await exchange(
      plain.port,
      `GET http://${target}/ HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`,
    );
    expect(absolute).toStartWith("HTTP/1.1 407 ");
    const wrongBase = await fetch(`http://127.0.0.1:${plain.port}/_/wrong/${target}/x`);
    expect(wrongBase.status).toBe(407);
    expect(((await wrongBase.json()) as { code: string }).code).toBe("proxy_auth_required");
    expect(world.upstream.requests.length).toBe(before);
  });

  test("a host outside every provider: 403 naming it, and nothing contacts it", async () => {
    const target = `127.0.0.1:${canary.port}`;
    const answer = await exchange(
      plain.port,
      `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${basic(plain.credential)}\r\n`,
    );
    expect(answer).toStartWith("HTTP/1.1 403 ");
    expect(answer).toContain("127.0.0.1 is not an upstream of any of this agent's providers (demo)");
    const viaBase = await fetch(`${plain.baseUrl}/evil.example/steal`);
    expect(viaBase.status).toBe(403);
    expect(((await viaBase.json()) as { code: string; detail: string }).detail).toContain(
      "evil.example is not an upstream of any of this agent's providers",
    );
    const absolute = await exchange(
      plain.port,
      `GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n${basic(plain.credential)}Connection: close\r\n\r\n`,
    );
    expect(absolute).toStartWith("HTTP/1.1 403 ");
    expect(canary.connections()).toBe(0);
  });

  test("--passthrough: a host outside every provider gets a blind tunnel, byte for byte", async () => {
    const target = `127.0.0.1:${echoPort}`;
    // Bytes no TLS server would accept as a ClientHello: a terminating companion would fail here.
    const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) % 256));
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: passing.port }, () =>
        socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${basic(passing.credential)}\r\n`),
      );
      const chunks: Buffer[] = [];
      let sent = false;
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        const head = all.indexOf("\r\n\r\n");
        if (!sent && head !== -1) {
          sent = true;
          socket.write(payload);
        }
        if (sent && all.length - head - 4 >= payload.length) {
          socket.end();
          resolve(all);
        }
      });
      socket.on("error", reject);
    });
    const head = answer.indexOf("\r\n\r\n");
    expect(answer.subarray(0, head).toString()).toStartWith("HTTP/1.1 200 ");
    expect(Buffer.compare(answer.subarray(head + 4), payload)).toBe(0);
    // Without --passthrough the same host is refused.
    const refused = await exchange(
      plain.port,
      `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${basic(plain.credential)}\r\n`,
    );
    expect(refused).toStartWith("HTTP/1.1 403 ");
  });
});

/**
 * Guess limiters behind a load balancer, over real sockets: the deployed composition
 * (`startSurrogate` from a configuration file) behind nginx on loopback, which appends the address
 * it received from to X-Forwarded-For. Two people are two source addresses (127.0.0.2 and
 * 127.0.0.3) connecting to nginx; nginx always reaches the web port from 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { type RunningSurrogate, startSurrogate } from "../../src/app/serve.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { createMemoryLogger } from "../../src/ops/log/logger.ts";
import { type TestPki, testPki } from "../helpers/pki.ts";
import { freePort } from "../helpers/ports.ts";
import { writeConfigDir } from "../helpers/process.ts";
import { type ReverseProxy, startReverseProxy } from "../helpers/reverse-proxy.ts";
import { type StubIdp, startStubIdp } from "../helpers/stub-idp.ts";

const PASSWORD = "correct horse battery staple";
/** DEFAULT_GUESS_LIMITS and the admin's PASSWORD_LIMITS: misses a minute per client. */
const CODE_MISSES = 10;
const PASSWORD_MISSES = 5;
const ALICE = "127.0.0.2";
const MALLORY = "127.0.0.3";

let dir: string;
let pki: TestPki;
let idp: StubIdp;
let env: Record<string, string>;

interface Deployment {
  running: RunningSurrogate;
  webPort: number;
  proxy: ReverseProxy;
  logger: ReturnType<typeof createMemoryLogger>;
}
const deployments: Deployment[] = [];

beforeAll(async () => {
  pki = await testPki();
  dir = await writeConfigDir(pki, "client-address");
  idp = await startStubIdp();
  const hash = await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: 4 });
  env = { STUB_SECRET: idp.clientSecret, ADMIN_HASH: hash };
});

afterAll(async () => {
  for (const deployment of deployments.splice(0)) {
    await deployment.proxy.stop();
    await deployment.running.stop();
  }
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** One instance behind its own nginx; `trusted` is the `[web] trusted_proxies` line, if any. */
async function deploy(trusted: string | undefined): Promise<Deployment> {
  const webPort = freePort();
  const toml = `issuer = "http://127.0.0.1:${webPort}"
[web]
listen = "127.0.0.1:${webPort}"
${trusted ?? ""}
[agent]
listen = "127.0.0.1:0"
tls_cert = "server.pem"
tls_key = "server.key"
client_ca = "ca.pem"
[rendezvous]
max_pending_per_workload = 50
create_rate = 1000
[admin]
password = "env:ADMIN_HASH"
[keys]
signing = "file:keys/signing.jwks"
encryption = "file:keys/encryption.jwks"
[providers.stub]
kind = "oidc"
issuer = "${idp.issuer}"
client_id = "${idp.clientId}"
client_secret = "env:STUB_SECRET"
scopes = ["openid", "email"]
upstreams = ["api.example.com"]
[[policy]]
workload = "spiffe://test.example/**"
providers = ["stub"]
`;
  const logger = createMemoryLogger();
  const running = await startSurrogate(await parseConfig(toml, env, { baseDir: dir }), { env, logger });
  const proxy = await startReverseProxy(join(dir, `proxy-${webPort}`), webPort);
  const deployment = { running, webPort, proxy, logger };
  deployments.push(deployment);
  return deployment;
}

interface Reply {
  status: number;
  body: string;
  cookies: string[];
}

/** An HTTP request from the loopback address `from`, as that person's browser would send it. */
function send(
  from: string,
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: init.method ?? "GET",
        headers: init.headers,
        localAddress: from,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body, cookies: res.headers["set-cookie"] ?? [] }),
        );
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A grant created by the alpha agent over mTLS: the valid user code a person would type. */
async function userCode(deployment: Deployment): Promise<string> {
  const response = await fetch(`https://127.0.0.1:${deployment.running.agentPort}/v1/grants`, {
    method: "POST",
    body: new URLSearchParams({ provider: "stub" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    tls: { cert: pki.alpha.certPem, key: pki.alpha.keyPem, ca: pki.ca.certPem },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { user_code: string }).user_code;
}

async function junkCodes(
  from: string,
  port: number,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i <= CODE_MISSES; i += 1) {
    statuses.push((await send(from, port, "/device?user_code=BBBB-BBBB", { headers })).status);
  }
  return statuses;
}

async function adminLogin(from: string, port: number, password: string): Promise<number> {
  const page = await send(from, port, "/admin/login");
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
  const cookie = page.cookies.map((line) => line.split(";")[0]).join("; ");
  const body = new URLSearchParams({ csrf, password }).toString();
  const headers = { cookie, "content-type": "application/x-www-form-urlencoded" };
  return (await send(from, port, "/admin/login", { method: "POST", headers, body })).status;
}

describe("with trusted_proxies: each person behind the balancer has their own budget", () => {
  let behind: Deployment;
  beforeAll(async () => {
    behind = await deploy('trusted_proxies = ["127.0.0.1"]');
  });

  test("one client's junk codes through the proxy leave another client's valid code working", async () => {
    const code = await userCode(behind);
    const statuses = await junkCodes(MALLORY, behind.proxy.port);
    expect(statuses.slice(0, CODE_MISSES).every((status) => status === 404)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const alice = await send(ALICE, behind.proxy.port, `/device?user_code=${code}`);
    expect(alice.status).toBe(200);
    expect(alice.body).toContain(code);
    // Her approval is audited with her address, not the proxy's.
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(alice.body)?.[1] ?? "";
    const approved = await send(ALICE, behind.proxy.port, "/device/approve", {
      method: "POST",
      headers: {
        cookie: alice.cookies.map((line) => line.split(";")[0]).join("; "),
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant: field("grant"), csrf: field("csrf") }).toString(),
    });
    expect(approved.status).toBe(302);
    const audit = behind.logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.find((line) => line.event === "consent.approved")).toMatchObject({ remote: ALICE });
    // Mallory stays blocked, her valid code included (a hit must not stay available to a guesser).
    expect((await send(MALLORY, behind.proxy.port, `/device?user_code=${code}`)).status).toBe(429);
  });

  test("one client's wrong admin passwords leave another client's correct password working", async () => {
    for (let i = 0; i < PASSWORD_MISSES; i += 1) {
      expect(await adminLogin(MALLORY, behind.proxy.port, "guess")).toBe(401);
    }
    expect(await adminLogin(MALLORY, behind.proxy.port, PASSWORD)).toBe(429);
    expect(await adminLogin(ALICE, behind.proxy.port, PASSWORD)).toBe(303);
    const lines = behind.logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.event === "admin.login")).toMatchObject({ remote: ALICE });
    expect(lines.find((line) => line.reason === "admin_password")).toMatchObject({ remote: MALLORY });
  });

  test("a forged X-Forwarded-For sent through the proxy cannot charge another client", async () => {
    const code = await userCode(behind);
    // Mallory claims to be Alice; nginx appends Mallory's real address, which is what counts.
    await junkCodes("127.0.0.4", behind.proxy.port, { "x-forwarded-for": "127.0.0.5" });
    expect((await send("127.0.0.5", behind.proxy.port, `/device?user_code=${code}`)).status).toBe(200);
  });

  test("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
    const code = await userCode(behind);
    // Straight to the web port from 127.0.0.6, claiming to be 127.0.0.7: counted against 127.0.0.6.
    const statuses = await junkCodes("127.0.0.6", behind.webPort, { "x-forwarded-for": "127.0.0.7" });
    expect(statuses.at(-1)).toBe(429);
    expect((await send("127.0.0.7", behind.proxy.port, `/device?user_code=${code}`)).status).toBe(200);
    const direct = await send("127.0.0.6", behind.webPort, `/device?user_code=${code}`, {
      headers: { "x-forwarded-for": "127.0.0.8" },
    });
    expect(direct.status).toBe(429);
  });
});

describe("without trusted_proxies (the default): everyone behind the balancer shares its address", () => {
  test("one client's junk codes block another's valid code, as documented", async () => {
    const shared = await deploy(undefined);
    const code = await userCode(shared);
    expect((await junkCodes(MALLORY, shared.proxy.port)).at(-1)).toBe(429);
    expect((await send(ALICE, shared.proxy.port, `/device?user_code=${code}`)).status).toBe(429);
    // The web port itself, reached directly from another address, is unaffected.
    expect((await send(ALICE, shared.webPort, `/device?user_code=${code}`)).status).toBe(200);
  });
});

/**
 * `surrogate run` with real, unmodified clients (curl, Python requests and httpx, Bun's fetch,
 * the openai SDK in base-URL mode) against a TLS upstream allowed for the provider. Each asserts
 * that the upstream received the real token and that the child never had it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type CompanionWorld,
  REAL_TOKEN,
  startCompanionWorld,
  surrogateProcess,
} from "../../helpers/companion.ts";

/** Debian's interpreter: python3-requests and python3-httpx are installed for it. */
const PYTHON = "/usr/bin/python3";
const JWS = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

let world: CompanionWorld;
let url: string;

beforeAll(async () => {
  world = await startCompanionWorld((port) => [{ name: "demo", upstreams: [`127.0.0.1:${port}`] }]);
  await world.writeWrapper("demo");
  url = `https://127.0.0.1:${world.upstream.port}`;
});

afterAll(async () => {
  await world.close();
});

function run(command: string[], extra: string[] = []) {
  return surrogateProcess(["run", "--tokens", world.tokens, ...extra, "--", ...command], world.brokerEnv())
    .done;
}

/** The child printed what the upstream answered, and the upstream saw the real token on `path`. */
function expectSwapped(result: { code: number; stdout: string; stderr: string }, path: string): void {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const seen = world.upstream.requests.findLast((request) => request.path === path);
  expect(seen?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
  // The proxy masks an echoed token (issue #9): the tool's output never holds it.
  expect(result.stdout).not.toContain(REAL_TOKEN);
  expect(JSON.parse(result.stdout).path).toBe(path);
}

describe("surrogate run: unmodified clients", () => {
  test("curl: the upstream sees the real token, curl's own Authorization is dropped", async () => {
    const result = await run(["curl", "-sS", "-H", "Authorization: Bearer placeholder", `${url}/curl?x=1`]);
    expectSwapped(result, "/curl?x=1");
  });

  test("Python requests and httpx, two requests each on one session", async () => {
    const script = `
import json, sys, requests, httpx
base = sys.argv[1]
with requests.Session() as s:
    s.get(base + "/requests/1").raise_for_status()
    print(s.get(base + "/requests/2").text)
with httpx.Client() as c:
    c.post(base + "/httpx/1", content=b"x" * 100000).raise_for_status()
    c.get(base + "/httpx/2").raise_for_status()
`;
    const result = await run([PYTHON, "-c", script, url]);
    expectSwapped(result, "/requests/2");
    const posted = world.upstream.requests.findLast((request) => request.path === "/httpx/1");
    expect(posted?.bodySize).toBe(100000);
    expect(posted?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
    expect(world.upstream.requests.findLast((r) => r.path === "/httpx/2")?.headers.get("authorization")).toBe(
      `Bearer ${REAL_TOKEN}`,
    );
  });

  test("Bun fetch", async () => {
    const result = await run(["bun", "-e", `console.log(await (await fetch("${url}/bun")).text())`]);
    expectSwapped(result, "/bun");
  });

  test("the openai SDK in base-URL mode ($SURROGATE_BASE_URL/<host>/v1)", async () => {
    const script = `
import OpenAI from "openai";
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, baseURL: process.env.SURROGATE_BASE_URL + "/127.0.0.1:${world.upstream.port}/v1" });
const page = await client.models.list();
console.log(JSON.stringify({ ok: true }));
`;
    const result = await run(["bun", "-e", script], ["--env", "OPENAI_API_KEY=demo"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const seen = world.upstream.requests.findLast((request) => request.path === "/v1/models");
    expect(seen?.headers.get("authorization")).toBe(`Bearer ${REAL_TOKEN}`);
    expect(seen?.headers.get("user-agent") ?? "").toContain("OpenAI");
  });
});

describe("surrogate run: the child's environment and process", () => {
  test("env: proxy, CA bundle and placeholders; no wrapper, key, real token or SURROGATE_* path", async () => {
    const result = await run(["env"], ["--env", "OPENAI_API_KEY=demo"]);
    expect(result.code).toBe(0);
    const env = Object.fromEntries(
      result.stdout
        .trimEnd()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(env.HTTPS_PROXY).toMatch(/^http:\/\/surrogate:[\w-]{43}@127\.0\.0\.1:\d+$/);
    for (const name of ["HTTP_PROXY", "https_proxy", "http_proxy"]) expect(env[name]).toBe(env.HTTPS_PROXY);
    for (const name of [
      "SSL_CERT_FILE",
      "REQUESTS_CA_BUNDLE",
      "CURL_CA_BUNDLE",
      "NODE_EXTRA_CA_CERTS",
      "GIT_SSL_CAINFO",
    ]) {
      expect(env[name]).toEndWith("/ca-bundle.pem");
    }
    expect(env.OPENAI_API_KEY).toBe("surrogate-placeholder");
    expect(result.stdout).not.toMatch(JWS);
    expect(result.stdout).not.toContain(REAL_TOKEN);
    expect(result.stdout).not.toContain("PRIVATE KEY");
    expect(result.stdout).not.toContain(world.paths.key);
    expect(
      Object.keys(env).filter((name) => name.startsWith("SURROGATE_") && name !== "SURROGATE_BASE_URL"),
    ).toEqual([]);
  });

  test("exit status is the child's; stdout is only the child's; temporary files are removed", async () => {
    const result = await run(["sh", "-c", 'printf "$SSL_CERT_FILE"; printf err >&2; exit 7']);
    expect(result.code).toBe(7);
    expect(result.stderr).toBe("err");
    // The CA bundle lived in the run's own temporary directory; it is gone once the run ended.
    expect(result.stdout).toMatch(/\/surrogate-run-[^/]+\/ca-bundle\.pem$/);
    expect(await Bun.file(result.stdout).exists()).toBe(false);
    expect(existsSync(dirname(result.stdout))).toBe(false);
  });

  test("a signal to surrogate run reaches the child; the status says which signal ended it", async () => {
    const marker = join(world.dir, "trapped");
    const ready = join(world.dir, "ready");
    const running = surrogateProcess(
      [
        "run",
        "--tokens",
        world.tokens,
        "--",
        "sh",
        "-c",
        `trap 'echo term > ${marker}; exit 143' TERM; touch ${ready}; while :; do sleep 0.05; done`,
      ],
      world.brokerEnv(),
    );
    for (let i = 0; i < 400 && !(await Bun.file(ready).exists()); i += 1) await Bun.sleep(25);
    running.child.kill("SIGTERM");
    const result = await running.done;
    expect(result.code).toBe(143);
    expect(await Bun.file(marker).text()).toBe("term\n");
    const killed = await run(["sh", "-c", "kill -KILL $$"]);
    expect(killed.code).toBe(137);
  });

  test("a --provider the broker does not list: exit 1 naming what it may use; the command never runs", async () => {
    const result = await run(["sh", "-c", "echo ran"], ["--provider", "nope"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "surrogate run: the broker does not let this workload use provider nope (it may use: demo) (access_denied)\n",
    );
  });

  test("a command that does not exist: 127 and one line", async () => {
    const result = await run(["/nonexistent/tool"]);
    expect(result.code).toBe(127);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain('cannot run "/nonexistent/tool"');
  });
});

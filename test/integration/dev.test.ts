import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { freePorts } from "../helpers/ports.ts";
import { TextCollector } from "../helpers/text-collector.ts";

/**
 * `surrogate dev` end to end, as a newcomer runs it: the command in one process, the printed login
 * command in another (approved through the consent page and the demo IdP's sign-in form by a
 * cookie-jar browser), then the printed curl command through the proxy to the demo echo upstream.
 */

const root = resolve(import.meta.dir, "../..");
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };

let work = "";
let dev: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let devStdout: TextCollector;
let devStderr: TextCollector;

/** Splits what `shellQuote` produced: bare words and '…' words ('\'' inside). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replaceAll(`'\\''`, "'") : (match[2] ?? ""));
  }
  return words;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-dev-"));
  const [web, agent, idp, upstream] = freePorts(4).map(String) as [string, string, string, string];
  dev = Bun.spawn(
    [process.execPath, "src/main.ts", "dev", "--dir", join(work, "dev space"), "--web-port", web].concat([
      "--agent-port",
      agent,
      "--idp-port",
      idp,
      "--upstream-port",
      upstream,
    ]),
    { cwd: root, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  devStdout = new TextCollector(dev.stdout);
  devStderr = new TextCollector(dev.stderr);
  await devStderr.waitFor(/Stop with Ctrl-C/);
});

afterAll(async () => {
  dev?.kill("SIGINT");
  await dev?.exited;
  await rm(work, { recursive: true, force: true });
});

describe("surrogate dev", () => {
  test("prints a banner that labels the demo and names the consent page", () => {
    expect(devStderr.text).toContain("a local DEMO");
    expect(devStderr.text).toContain("surrogate DEMO identity provider — not for production");
    expect(devStderr.text).toMatch(/http:\/\/127\.0\.0\.1:\d+\/device/);
    expect(devStderr.text).toContain("(generated;");
  });

  test("the printed login and curl commands work as pasted: the upstream sees the real token, never the wrapper", async () => {
    const loginLine = (await devStderr.waitFor(/^ {3}(\S.* login demo .*)$/m))[1] ?? "";
    const curlLine = (await devStderr.waitFor(/^ {3}(curl .*)$/m))[1] ?? "";
    const words = shellWords(loginLine);
    expect(words).toContain(join(work, "dev space", "agent.pem"));

    // Run from an unrelated directory, as a second terminal would be.
    const login = Bun.spawn(words, { cwd: work, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const loginErr = new TextCollector(login.stderr);
    const approvalUrl = (
      await loginErr.waitFor(/http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z0-9-]+/)
    )[0];

    const browser = new Browser();
    const { consent, done: signIn } = await approveConsent(browser, approvalUrl);
    expect(consent.status).toBe(200);
    expect(consent.body.replaceAll("<wbr>", "")).toContain("spiffe://dev.surrogate.local/agents/demo");
    expect(signIn.url.pathname).toBe("/authorize");
    expect(signIn.body).toContain("surrogate DEMO identity provider — not for production");
    const done = await browser.submit("/authorize", { ...Browser.hiddenFields(signIn), decision: "approve" });
    expect(done.url.pathname).toBe("/callback");
    expect(done.status).toBe(200);

    expect(await login.exited).toBe(0);
    const tokenFile = join(work, "dev space", "token.json");
    expect(loginErr.text).toContain(`wrapper written to ${tokenFile}, expires in `);
    const saved = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, string>;
    const wrapper = saved.access_token ?? "";
    expect(wrapper.split(".")).toHaveLength(3);
    expect(saved.refresh_token?.split(".")).toHaveLength(3);
    expect(JSON.stringify(saved)).not.toContain("demo-access-");

    const curl = Bun.spawnSync(["sh", "-c", curlLine], { cwd: work, env });
    expect(curl.exitCode).toBe(0);
    const echo = JSON.parse(curl.stdout.toString()) as Record<string, unknown>;
    expect(echo.path).toBe("/hello");
    expect(echo.method).toBe("GET");
    expect(echo.authorization).toMatch(/^Bearer demo-access-[A-Za-z0-9_-]+$/);
    expect(String(echo.authorization)).not.toContain(wrapper);
    expect(echo.note).toContain("demo upstream");
    // The real token reached the upstream only: not the agent's file, not the logs, not a page.
    const realToken = String(echo.authorization).slice("Bearer ".length);
    expect(devStdout.text).not.toContain(realToken);
    for (const page of browser.pages) expect(page.body).not.toContain(realToken);

    // Step 3: refresh as printed, then the same curl carries the new wrapper to a new real token.
    const refreshLine = devStderr.text.match(/^ {3}(\S.* refresh --in .*)$/m)?.[1] ?? "";
    const refreshed = Bun.spawnSync(shellWords(refreshLine), { cwd: work, env });
    expect(refreshed.exitCode).toBe(0);
    const renewed = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, string>;
    expect(renewed.access_token).not.toBe(wrapper);
    const again = Bun.spawnSync(["sh", "-c", curlLine], { cwd: work, env });
    const echoAgain = JSON.parse(again.stdout.toString()) as Record<string, unknown>;
    expect(echoAgain.authorization).toMatch(/^Bearer demo-access-[A-Za-z0-9_-]+$/);
    expect(echoAgain.authorization).not.toBe(echo.authorization);
  }, 60_000);

  test("the printed curl without the agent certificate is refused by the agent port", () => {
    const curlLine = devStderr.text.match(/^ {3}(curl .*)$/m)?.[1] ?? "";
    const withoutCert = curlLine.replace(/--cert ('[^']*'|\S+) --key ('[^']*'|\S+) /, "");
    expect(withoutCert).not.toContain("--cert");
    const curl = Bun.spawnSync(["sh", "-c", withoutCert], { cwd: work, env });
    expect(curl.exitCode).not.toBe(0);
  });
});

describe("surrogate dev, second run", () => {
  test("stops on SIGINT with exit 0, then reuses its workspace on the next start", async () => {
    // The banner names each port in its URL; the second run is started on the same ones.
    const urlPort = (pattern: RegExp) => devStderr.text.match(pattern)?.[1] ?? "";
    const args = ["--web-port", urlPort(/web port +http:\/\/127\.0\.0\.1:(\d+)/)]
      .concat(["--agent-port", urlPort(/agent port +https:\/\/127\.0\.0\.1:(\d+)/)])
      .concat(["--idp-port", urlPort(/demo IdP +http:\/\/127\.0\.0\.1:(\d+)/)])
      .concat(["--upstream-port", urlPort(/upstream +https:\/\/127\.0\.0\.1:(\d+)/)]);
    const caBefore = await readFile(join(work, "dev space", "ca.pem"), "utf8");
    dev?.kill("SIGINT");
    expect(await dev?.exited).toBe(0);

    dev = Bun.spawn([process.execPath, "src/main.ts", "dev", "--dir", join(work, "dev space"), ...args], {
      cwd: root,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    devStderr = new TextCollector(dev.stderr);
    devStdout = new TextCollector(dev.stdout);
    await devStderr.waitFor(/Stop with Ctrl-C/);
    expect(devStderr.text).toContain("(reused;");
    expect(await readFile(join(work, "dev space", "ca.pem"), "utf8")).toBe(caBefore);
    dev.kill("SIGTERM");
    expect(await dev.exited).toBe(0);
    dev = undefined;
  }, 60_000);
});

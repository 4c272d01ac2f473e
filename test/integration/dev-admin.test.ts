/**
 * `surrogate dev --admin`: the admin UI with the password printed beside its URL; and the
 * generated surrogate.toml, copied elsewhere as its header invites, starts with `surrogate serve`:
 * on other ports while dev runs (the demo IdP accepts the copy's loopback redirect URI), and while
 * dev is stopped (the demo provider needs no discovery at start-up).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import type { IssuedCertificate } from "../../src/core/pki/issue.ts";
import { approveConsent, Browser } from "../helpers/browser.ts";
import { freePorts } from "../helpers/ports.ts";
import { agentForm, spawnSurrogate } from "../helpers/process.ts";
import { TextCollector } from "../helpers/text-collector.ts";

const root = resolve(import.meta.dir, "../..");
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };

let work = "";
let space = "";
let dev: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let banner: TextCollector;
let ports: { web: number; agent: number };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "surrogate-dev-admin-"));
  space = join(work, "space");
  const [web, agent, idp, upstream] = freePorts(4) as [number, number, number, number];
  ports = { web, agent };
  const flags = ["--web-port", web, "--agent-port", agent, "--idp-port", idp, "--upstream-port", upstream];
  dev = Bun.spawn([process.execPath, "src/main.ts", "dev", "--admin", "--dir", space, ...flags.map(String)], {
    cwd: root,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  void new TextCollector(dev.stdout);
  banner = new TextCollector(dev.stderr);
  await banner.waitFor(/Stop with Ctrl-C/);
}, 60_000);

afterAll(async () => {
  dev?.kill("SIGINT");
  await dev?.exited;
  await rm(work, { recursive: true, force: true });
});

/** The generated config on other ports, as a person copying it would change them. */
async function copiedConfig(): Promise<string> {
  const [web, agent] = freePorts(2) as [number, number];
  const text = (await readFile(join(space, "surrogate.toml"), "utf8"))
    .replace(`listen = "127.0.0.1:${ports.web}"`, `listen = "127.0.0.1:${web}"`)
    .replace(`listen = "127.0.0.1:${ports.agent}"`, `listen = "127.0.0.1:${agent}"`)
    .replace(`issuer = "http://127.0.0.1:${ports.web}"`, `issuer = "http://127.0.0.1:${web}"`);
  const path = join(work, "copy", `surrogate-${web}.toml`);
  await Bun.write(path, text);
  return path;
}

describe("surrogate dev --admin", () => {
  test("prints the admin URL with a generated password, which signs in", async () => {
    const [, url, password] =
      (await banner.waitFor(
        /admin UI +(http:\/\/127\.0\.0\.1:\d+\/admin) +password: (\S+) +\(new on every start\)/,
      )) ?? [];
    expect(url).toBe(`http://127.0.0.1:${ports.web}/admin`);
    const browser = new Browser();
    const login = await browser.open(`${url}/login`);
    const signedIn = await browser.submit("/admin/login", {
      ...Browser.hiddenFields(login),
      password: password ?? "",
    });
    expect(signedIn.url.pathname).toBe("/admin");
    expect(signedIn.body).toContain("signed in with the admin password");
    const wrong = await new Browser().open(`${url}/login`);
    expect(await readFile(join(space, "surrogate.toml"), "utf8")).toContain("[admin]");
    expect(wrong.body).not.toContain(password ?? "never");
  });

  test("the copied configuration starts on other ports, and the demo IdP accepts its callback", async () => {
    const copy = await spawnSurrogate({ name: "copy", configPath: await copiedConfig() });
    try {
      const cert = {
        certPem: await readFile(join(space, "agent.pem"), "utf8"),
        keyPem: await readFile(join(space, "agent.key"), "utf8"),
      };
      const created = await agentForm(
        copy.agentPort,
        "/v1/grants",
        { provider: "demo" },
        // agentForm reads only the PEMs of the certificate.
        cert as unknown as IssuedCertificate,
        await readFile(join(space, "ca.pem"), "utf8"),
      );
      expect(created.status).toBe(200);
      const grant = (await created.json()) as { verification_uri_complete: string };
      const browser = new Browser();
      const { done: signIn } = await approveConsent(browser, grant.verification_uri_complete);
      expect(signIn.url.pathname).toBe("/authorize");
      expect(signIn.body).not.toContain("Unknown client");
      expect(signIn.body).toContain("surrogate DEMO identity provider");
    } finally {
      await copy.stop();
    }
  }, 60_000);

  test("the copied configuration starts while surrogate dev (and its IdP) is stopped", async () => {
    dev?.kill("SIGINT");
    await dev?.exited;
    dev = undefined;
    const copy = await spawnSurrogate({ name: "copy-alone", configPath: await copiedConfig() });
    try {
      expect((await fetch(`http://127.0.0.1:${copy.webPort}/healthz`)).status).toBe(200);
    } finally {
      await copy.stop();
    }
  }, 60_000);
});

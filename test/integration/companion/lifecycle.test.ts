/**
 * The companion over a child's lifetime: wrappers refreshed ahead of expiry while the child keeps
 * calling, a refused refresh said once, certificate files replaced mid-run, and a login started
 * by `surrogate run` for a provider that has no wrapper yet.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { thumbprintOf } from "../../../src/core/identity/thumbprint.ts";
import { issueCertificate } from "../../../src/core/pki/issue.ts";
import { Secret } from "../../../src/core/secret.ts";
import { type CompanionWorld, startCompanionWorld, surrogateProcess } from "../../helpers/companion.ts";
import { ALPHA_ID } from "../../helpers/pki.ts";
import { upstreamTokens } from "../../unit/broker/fixtures.ts";

const PYTHON = "/usr/bin/python3";

/** Calls `url` every quarter second for `seconds`, printing each status: a long-running tool. */
const KEEP_CALLING = `
import sys, time, requests
url, seconds = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + seconds
with requests.Session() as s:
    while time.monotonic() < end:
        print(s.get(url).status_code, flush=True)
        time.sleep(0.25)
`;

/** One request, then a sign (file argv[2]) and a wait for the test's (file argv[3]), then another. */
const BEFORE_AND_AFTER = `
import os, sys, time, requests
url = sys.argv[1]
with requests.Session() as s:
    print(s.get(url + "/before-rotation").status_code, flush=True)
    open(sys.argv[2], "w").close()
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.05)
    print(s.get(url + "/after-rotation").status_code, flush=True)
`;

let world: CompanionWorld;
let url: string;

beforeAll(async () => {
  world = await startCompanionWorld((port) => [{ name: "demo", upstreams: [`127.0.0.1:${port}`] }]);
  url = `https://127.0.0.1:${world.upstream.port}`;
});

beforeEach(async () => {
  await rm(world.tokens, { recursive: true, force: true });
  world.idp.script.length = 0;
  world.idp.received.length = 0;
});

afterAll(async () => {
  await world.close();
});

function run(command: string[], extra: string[] = []) {
  return surrogateProcess(["run", "--tokens", world.tokens, ...extra, "--", ...command], world.brokerEnv());
}

describe("wrappers kept fresh", () => {
  test("a wrapper about to expire is refreshed while the child keeps calling; every call succeeds", async () => {
    world.idp.script.push(
      upstreamTokens("real-after-refresh", {
        expiresIn: 3600,
        refreshToken: new Secret("upstream-refresh-2"),
      }),
    );
    // Lives 6 s: the companion refreshes it with 2 s left, and the child calls for 9 s.
    await world.writeWrapper("demo", { expiresIn: 6, refresh: "upstream-refresh-1" });
    const result = await run([PYTHON, "-c", KEEP_CALLING, `${url}/tick`, "9"]).done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const statuses = result.stdout.trim().split("\n");
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.every((status) => status === "200")).toBe(true);
    expect(world.idp.received).toEqual(["upstream-refresh-1"]);
    const seen = world.upstream.requests
      .filter((r) => r.path === "/tick")
      .map((r) => r.headers.get("authorization"));
    expect(seen.at(-1)).toBe("Bearer real-after-refresh");
    // The fresh pair replaced the file, so the next run starts from it.
    const saved = JSON.parse(await Bun.file(join(world.tokens, "demo.json")).text());
    expect(Object.keys(saved).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_token",
      "scope",
      "token_type",
    ]);
  });

  test("a refused refresh is said once on stderr; then the companion answers 401 itself", async () => {
    world.idp.script.push("idp_error");
    await world.writeWrapper("demo", { expiresIn: 5, refresh: "revoked-upstream-refresh" });
    const before = world.upstream.requests.length;
    const result = await run([PYTHON, "-c", KEEP_CALLING, `${url}/refused`, "8"]).done;
    expect(result.code).toBe(0);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("surrogate: provider demo: ");
    expect(lines[0]).toEndWith('run "surrogate login demo" again');
    // 200 while the wrapper lasts (how many depends on how soon the child starts), then 401.
    const statuses = result.stdout.trim().split("\n");
    expect(statuses.at(-1)).toBe("401");
    expect(statuses.every((status) => status === "200" || status === "401")).toBe(true);
    expect(world.idp.received).toEqual(["revoked-upstream-refresh"]);
    // After the refusal, no request went upstream with a dead wrapper.
    const upstreamCalls = world.upstream.requests.length - before;
    expect(upstreamCalls).toBe(statuses.filter((status) => status === "200").length);
  });
});

describe("certificate rotation", () => {
  test("certificate files replaced mid-run: the next request presents the new certificate", async () => {
    const renewed = await issueCertificate(world.pki.ca, {
      usage: "client",
      commonName: "alpha",
      uris: [ALPHA_ID],
      keyPem: world.pki.alpha.keyPem,
    });
    // Bound to the key pair (cnf.jkt), so it stays valid across a renewal that keeps the key.
    await world.writeSealed("demo");
    const ready = join(world.dir, "rotation-ready");
    const go = join(world.dir, "rotation-go");
    const running = run([PYTHON, "-c", BEFORE_AND_AFTER, url, ready, go]);
    for (let i = 0; i < 800 && !(await Bun.file(ready).exists()); i += 1) await Bun.sleep(25);
    const proxiedBefore = world.proxied.length;
    expect(world.proxied.at(-1)).toBe(thumbprintOf(world.pki.alpha.der));
    const staged = `${world.paths.cert}.new`;
    await writeFile(staged, renewed.certPem);
    await rename(staged, world.paths.cert);
    await writeFile(go, "");
    const result = await running.done;
    try {
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("200\n200\n");
      expect(world.proxied.length).toBe(proxiedBefore + 1);
      expect(world.proxied.at(-1)).toBe(thumbprintOf(renewed.der));
    } finally {
      await writeFile(world.paths.cert, world.pki.alpha.certPem);
    }
  });
});

describe("SVID rotation (new key, same SPIFFE ID)", () => {
  test("the companion rebinds its wrapper by refreshing with the new certificate; the next request works", async () => {
    const next = await issueCertificate(world.pki.ca, {
      usage: "client",
      commonName: "alpha",
      uris: [ALPHA_ID],
    });
    world.idp.script.push(
      upstreamTokens("real-after-rotation", {
        expiresIn: 3600,
        refreshToken: new Secret("upstream-refresh-b"),
      }),
    );
    // The access wrapper binds the old certificate; the refresh wrapper the SPIFFE ID (DESIGN §5).
    await world.writeWrapper("demo", { refresh: "upstream-refresh-a", refreshBinding: "spiffe_id" });
    const ready = join(world.dir, "svid-ready");
    const go = join(world.dir, "svid-go");
    const running = run([PYTHON, "-c", BEFORE_AND_AFTER, url, ready, go]);
    for (let i = 0; i < 800 && !(await Bun.file(ready).exists()); i += 1) await Bun.sleep(25);
    expect(world.proxied.at(-1)).toBe(thumbprintOf(world.pki.alpha.der));
    try {
      // A rotation writes the key, then the certificate (a SPIFFE helper renames each into place).
      await writeFile(`${world.paths.key}.new`, next.keyPem);
      await rename(`${world.paths.key}.new`, world.paths.key);
      await writeFile(`${world.paths.cert}.new`, next.certPem);
      await rename(`${world.paths.cert}.new`, world.paths.cert);
      await writeFile(go, "");
      const result = await running.done;
      expect(result.stdout).toBe("200\n200\n");
      expect(world.idp.received).toEqual(["upstream-refresh-a"]);
      expect(world.proxied.at(-1)).toBe(thumbprintOf(next.der));
      const after = world.upstream.requests.findLast((r) => r.path === "/after-rotation");
      expect(after?.headers.get("authorization")).toBe("Bearer real-after-rotation");
    } finally {
      await writeFile(world.paths.key, world.pki.alpha.keyPem);
      await writeFile(world.paths.cert, world.pki.alpha.certPem);
    }
  });
});

describe("login on demand", () => {
  test("run --provider logs in first when there is no wrapper: URL on stderr, stdout only the child's", async () => {
    const running = run(
      ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", `${url}/after-login`],
      ["--provider", "demo"],
    );
    const userCode = await world.approvePending("token-from-login");
    const result = await running.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("200");
    expect(result.stderr).toContain(`${userCode.slice(0, 4)}-${userCode.slice(4)}`);
    expect(result.stderr).toContain("/device?user_code=");
    const seen = world.upstream.requests.findLast((r) => r.path === "/after-login");
    expect(seen?.headers.get("authorization")).toBe("Bearer token-from-login");
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { renderQr } from "../../../src/cli/qr.ts";
import {
  fakeTime,
  json,
  type PkiFiles,
  type ScriptedBroker,
  startRelay,
  startScriptedBroker,
  writePkiFiles,
} from "./agent-fixture.ts";
import { cli } from "./io.ts";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const ACCESS = "eyJhbGciOiJFUzI1NiJ9.eyJwcnYiOiJkZW1vIn0.c2lnbmF0dXJl";
const REFRESH = "eyJ0eXAiOiJyZWZyZXNoIn0.eyJwcnYiOiJkZW1vIn0.b3RoZXI";
const COMPLETE = "https://broker.test.example/device?user_code=BCDF-GHJK";
const GRANT = {
  device_code: "device-code-secret",
  user_code: "BCDF-GHJK",
  verification_uri: "https://broker.test.example/device",
  verification_uri_complete: COMPLETE,
  expires_in: 600,
  interval: 5,
};
const TOKEN = {
  access_token: ACCESS,
  refresh_token: REFRESH,
  token_type: "Bearer",
  expires_in: 3600,
  scope: "read",
};

let files: PkiFiles;
let broker: ScriptedBroker;

beforeAll(async () => {
  files = await writePkiFiles();
  broker = await startScriptedBroker(files.pki);
});
afterAll(async () => {
  await broker.server.close();
  await files.cleanup();
});
beforeEach(() => {
  broker.bodies.length = 0;
});

function agentFlags(overrides: Record<string, string> = {}): string[] {
  const flags = {
    broker: broker.url,
    cert: files.alphaCert,
    key: files.alphaKey,
    ca: files.ca,
    ...overrides,
  };
  return Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]);
}

/** The broker answers the grant, then the token endpoint from `polls` in order. */
function script(polls: Response[], grant: Response = json(GRANT), times?: number[], now?: () => number) {
  broker.handle = (request) => {
    if (request.target === "/v1/grants") return grant.clone();
    times?.push(now?.() ?? 0);
    return (polls.shift() ?? json({ error: "authorization_pending" }, 400)).clone();
  };
}

const pending = () => json({ error: "authorization_pending", error_description: "waiting" }, 400);

describe("surrogate login", () => {
  test("prints exactly the wrapper on stdout; URL, user code and QR on stderr only", async () => {
    const time = fakeTime();
    script([pending(), json(TOKEN)]);
    const result = await cli(
      ["login", "demo", "--scope", "read", "--scope", "write admin", ...agentFlags()],
      time,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${ACCESS}\n`);
    expect(result.stderr).toContain(COMPLETE);
    expect(result.stderr).toContain("BCDF-GHJK");
    expect(result.stderr).toContain(renderQr(COMPLETE));
    expect(result.stdout).not.toContain("▀");
    expect(result.stderr).toContain("use --json to keep it");
    expect(Object.fromEntries(broker.bodies[0] ?? [])).toEqual({
      provider: "demo",
      scope: "read write admin",
    });
    expect(Object.fromEntries(broker.bodies[1] ?? [])).toEqual({
      grant_type: DEVICE_GRANT,
      device_code: "device-code-secret",
    });
    expect(result.stderr).not.toContain("device-code-secret");
  });

  test("--json prints the whole token response", async () => {
    script([json(TOKEN)]);
    const result = await cli(["login", "demo", "--json", ...agentFlags()], fakeTime());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(TOKEN);
  });

  test("--out writes the file with mode 0600 and nothing to stdout", async () => {
    script([json(TOKEN)]);
    const out = join(files.dir, "token.json");
    const result = await cli(["login", "demo", "--json", "--out", out, ...agentFlags()], fakeTime());
    expect(result).toMatchObject({ code: 0, stdout: "" });
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual(TOKEN);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    // One success line, last on stderr: where the result went, for how long, how to refresh.
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(
      `wrapper written to ${out}, expires in 1h (with its refresh wrapper: surrogate refresh --in ${out} --json)`,
    );
  });

  test("a broker unreachable while polling is retried with back-off until it answers", async () => {
    const relay = await startRelay(Number(new URL(broker.url).port));
    const time = fakeTime();
    let polls = 0;
    broker.handle = (request) => {
      if (request.target === "/v1/grants") return json(GRANT);
      polls += 1;
      return polls === 1 ? pending() : json(TOKEN);
    };
    // Polls at 5 s (pending), then the broker is away: 10 s, 20 s, 40 s fail; back before 80 s.
    const start = time.clock.now;
    const result = await cli(["login", "demo", ...agentFlags({ broker: relay.url })], {
      ...time,
      sleep: async (ms) => {
        if (polls === 1 && !relay.isDown() && time.clock.now < start + 60_000) relay.down();
        if (relay.isDown() && time.clock.now >= start + 60_000) relay.up();
        await time.sleep(ms);
      },
    });
    await relay.stop();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${ACCESS}\n`);
    expect(polls).toBe(2);
    const retries = result.stderr.split("\n").filter((line) => line.includes("; retrying in"));
    expect(retries.map((line) => line.replace(/.*; /, ""))).toEqual([
      "retrying in 10s",
      "retrying in 20s",
      "retrying in 40s",
    ]);
    expect(retries[0]).toStartWith(`cannot reach the broker at ${relay.url} [`);
    expect(result.stderr).not.toContain("refused our client certificate");
  });

  test("a broker unreachable until the grant expires ends the login with expired_token", async () => {
    const relay = await startRelay(Number(new URL(broker.url).port));
    script([], json({ ...GRANT, expires_in: 120 }));
    const time = fakeTime();
    // Down once the grant exists: every poll fails until the grant's 120 s are over.
    const result = await cli(["login", "demo", ...agentFlags({ broker: relay.url })], {
      ...time,
      sleep: async (ms) => {
        if (!relay.isDown()) relay.down();
        await time.sleep(ms);
      },
    });
    await relay.stop();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("retrying in");
    expect(result.stderr).toEndWith("(expired_token)\n");
  });

  test("503 temporarily_unavailable while polling (the broker's Redis away) is retried too", async () => {
    script([
      json({ error: "temporarily_unavailable", error_description: "rendezvous unavailable" }, 503),
      json(TOKEN),
    ]);
    const time = fakeTime();
    const result = await cli(["login", "demo", ...agentFlags()], time);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("rendezvous unavailable; retrying in 10s");
  });

  test("an --out directory that cannot be written is refused before a grant is created", async () => {
    broker.handle = () => json(GRANT);
    const result = await cli(
      ["login", "demo", "--out", join(files.dir, "missing", "t"), ...agentFlags()],
      fakeTime(),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot write --out");
    expect(broker.bodies).toHaveLength(0);
  });

  test("waits interval seconds before each poll and 5 s more after each slow_down (RFC 8628 §3.5)", async () => {
    const time = fakeTime();
    const times: number[] = [];
    const start = time.clock.now;
    script(
      [pending(), json({ error: "slow_down" }, 400), pending(), json(TOKEN)],
      json(GRANT),
      times,
      time.now,
    );
    const result = await cli(["login", "demo", ...agentFlags()], time);
    expect(result.code).toBe(0);
    expect(times.map((t) => (t - start) / 1000)).toEqual([5, 10, 20, 30]);
  });

  test("a denial exits 1 with one line", async () => {
    script([pending(), json({ error: "access_denied", error_description: "the request was denied" }, 400)]);
    const result = await cli(["login", "demo", ...agentFlags()], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(
      "surrogate login: the request was denied (access_denied)",
    );
  });

  test("expired_token from the broker exits 1", async () => {
    script([json({ error: "expired_token" }, 400)]);
    const result = await cli(["login", "demo", ...agentFlags()], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "surrogate login: the request expired before it was approved; run login again (expired_token)",
    );
  });

  test("gives up at the grant's expiry even if the broker keeps saying pending", async () => {
    const time = fakeTime();
    const start = time.clock.now;
    script([], json({ ...GRANT, expires_in: 12 }));
    const result = await cli(["login", "demo", ...agentFlags()], time);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("(expired_token)");
    expect(time.clock.now - start).toBe(12_000);
    expect(broker.bodies.length).toBe(3);
  });

  test("a policy refusal at creation says what the broker saw: workload and provider", async () => {
    const said = "no [[policy]] rule allows workload spiffe://corp.example/agents/x to use provider github";
    script([], json({ error: "access_denied", error_description: said }, 403));
    const result = await cli(["login", "github", ...agentFlags()], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`surrogate login: ${said} (access_denied)\n`);
  });

  test("a policy refusal without a description still names the provider", async () => {
    script([], json({ error: "access_denied" }, 403));
    const result = await cli(["login", "github", ...agentFlags()], fakeTime());
    expect(result.stderr).toBe(
      "surrogate login: this workload may not use provider github (access_denied)\n",
    );
  });

  test("an unknown provider exits 1 with the broker's reason", async () => {
    script([], json({ error: "invalid_request", error_description: "provider: not configured" }, 400));
    const result = await cli(["login", "nope", ...agentFlags()], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "surrogate login: the broker refused provider nope: provider: not configured (invalid_request)\n",
    );
  });

  test("on a terminal, one line is rewritten with the time left", async () => {
    script([pending(), json(TOKEN)]);
    const result = await cli(["login", "demo", ...agentFlags()], { ...fakeTime(), isTTY: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("\r\x1b[Kwaiting for approval, 10m 00s left");
    expect(result.stderr).toContain("\r\x1b[Kwaiting for approval, 9m 55s left");
    // The indicator line is cleared before anything else is written.
    expect(result.stderr).toContain("\r\x1b[Kwrapper written to stdout, expires in 1h; a refresh wrapper");
  });

  test("without a terminal, plain lines at most every 30 s", async () => {
    script(Array.from({ length: 12 }, pending).concat(json(TOKEN)));
    const result = await cli(["login", "demo", ...agentFlags()], { ...fakeTime(), isTTY: false });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("\r");
    const lines = result.stderr.split("\n").filter((line) => line.startsWith("waiting for approval"));
    expect(lines).toEqual([
      "waiting for approval, 10m 00s left",
      "waiting for approval, 9m 30s left",
      "waiting for approval, 9m 00s left",
    ]);
  });

  test("a server certificate not issued by --ca: one line naming --ca", async () => {
    const result = await cli(["login", "demo", ...agentFlags({ ca: files.otherCa })], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `surrogate login: the broker's certificate is not trusted by --ca ${files.otherCa} [SELF_SIGNED_CERT_IN_CHAIN] (certificate_invalid)\n`,
    );
  });

  test("a client certificate the broker does not trust: one line naming --cert", async () => {
    const result = await cli(
      ["login", "demo", ...agentFlags({ cert: files.otherClientCert, key: files.otherClientKey })],
      fakeTime(),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith(
      `surrogate login: the broker refused our client certificate --cert ${files.otherClientCert} [`,
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("a broker that is not listening", async () => {
    const result = await cli(["login", "demo", ...agentFlags({ broker: "https://127.0.0.1:1" })], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "surrogate login: cannot reach the broker at https://127.0.0.1:1 [ECONNREFUSED] (temporarily_unavailable)\n",
    );
  });

  test.each([
    ["a non-JSON answer", () => new Response("<html>", { status: 200 }), "without JSON"],
    ["an oversized answer", () => new Response("x".repeat(70_000)), "sent more than 65536 bytes"],
    [
      "a redirect",
      () => new Response(null, { status: 302, headers: { location: "https://evil.example/" } }),
      "redirect",
    ],
    ["a grant without device_code", () => json({ ...GRANT, device_code: undefined }), "no valid device_code"],
  ])("refuses %s from the broker", async (_name, answer, message) => {
    broker.handle = answer;
    const result = await cli(["login", "demo", ...agentFlags()], fakeTime());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });

  test.each([
    [["login", "--broker", "https://x.example"], "missing <provider>"],
    [["login", "a", "b"], "only one <provider> at a time"],
    [["login", "demo", "--scope", 'a"b'], "--scope: invalid characters"],
    [["login", "demo"], "missing --broker URL (or SURROGATE_BROKER)"],
  ])("usage errors exit 2: %j", async (argv, problem) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(`surrogate login: ${problem}\n`);
  });
});

import { describe, expect, test } from "bun:test";
import { devBanner, devCommands, selfInvocation, shellQuote } from "../../../src/dev/instructions.ts";
import type { DevWorkspace } from "../../../src/dev/workspace.ts";

const PORTS = { web: 18080, agent: 18443, idp: 18081, upstream: 18444 };

function workspace(dir: string): DevWorkspace {
  const file = (name: string) => `${dir}/${name}`;
  return {
    dir,
    files: {
      caCert: file("ca.pem"),
      caKey: file("ca.key"),
      serverCert: file("server.pem"),
      serverKey: file("server.key"),
      agentCert: file("agent.pem"),
      agentKey: file("agent.key"),
      signingKeys: file("signing.jwks"),
      encryptionKeys: file("encryption.jwks"),
      clientSecret: file("client-secret"),
    },
    configPath: file("surrogate.toml"),
    tokenPath: file("token.json"),
    created: true,
  };
}

/** What a POSIX shell makes of a quoted word, for the cases shellQuote produces. */
function unquote(word: string): string {
  return word.startsWith("'") ? word.slice(1, -1).replaceAll(`'\\''`, "'") : word;
}

describe("shellQuote", () => {
  test("leaves plain paths and URLs alone", () => {
    expect(shellQuote("/home/me/.surrogate-dev/agent.pem")).toBe("/home/me/.surrogate-dev/agent.pem");
    expect(shellQuote("https://127.0.0.1:8443")).toBe("https://127.0.0.1:8443");
  });

  test("quotes spaces, quotes and shell syntax so they stay one literal argument", () => {
    for (const word of ["/tmp/my dir/a.pem", "it's", "$(rm -rf ~)", "a;b", "`x`", "*"]) {
      const quoted = shellQuote(word);
      expect(quoted.startsWith("'")).toBe(true);
      expect(unquote(quoted)).toBe(word);
    }
  });
});

describe("selfInvocation", () => {
  test("from source: bun and the entry point", () => {
    const [runner, ...rest] = selfInvocation("/repo/src/main.ts", "/usr/local/bin/bun");
    expect(rest).toEqual(["/repo/src/main.ts"]);
    expect(["bun", "/usr/local/bin/bun"]).toContain(runner ?? "");
  });

  test("compiled: the binary itself", () => {
    expect(selfInvocation("/$bunfs/root/surrogate", "/opt/bin/surrogate")).toEqual(["/opt/bin/surrogate"]);
    expect(selfInvocation("B:/~BUN/root/surrogate.exe", "C:\\surrogate.exe")).toEqual(["C:\\surrogate.exe"]);
  });
});

describe("devCommands", () => {
  test("name every file by absolute path and the upstream through the proxy", () => {
    const commands = devCommands(workspace("/abs/.surrogate-dev"), PORTS, ["/opt/bin/surrogate"]);
    const agent =
      "--broker https://127.0.0.1:18443 --cert /abs/.surrogate-dev/agent.pem " +
      "--key /abs/.surrogate-dev/agent.key --ca /abs/.surrogate-dev/ca.pem";
    expect(commands.login).toBe(
      `/opt/bin/surrogate login demo ${agent} --json --out /abs/.surrogate-dev/token.json`,
    );
    expect(commands.curl).toBe(
      "curl --cert /abs/.surrogate-dev/agent.pem --key /abs/.surrogate-dev/agent.key --cacert /abs/.surrogate-dev/ca.pem " +
        `-H "Authorization: Bearer $(sed -n 's/.*"access_token": "\\([^"]*\\)".*/\\1/p' /abs/.surrogate-dev/token.json)" ` +
        "https://127.0.0.1:18443/127.0.0.1:18444/hello",
    );
    expect(commands.refresh).toBe(
      `/opt/bin/surrogate refresh --in /abs/.surrogate-dev/token.json ${agent} --json --out /abs/.surrogate-dev/token.json`,
    );
  });

  test("quote a directory with a space", () => {
    const commands = devCommands(workspace("/abs/my dir"), PORTS, ["bun", "/repo/src/main.ts"]);
    expect(commands.login).toContain("--cert '/abs/my dir/agent.pem'");
    expect(commands.curl).toContain(`/p' '/abs/my dir/token.json')`);
  });

  test("the banner labels the demo, names the consent page and both commands", () => {
    const ws = workspace("/abs/.surrogate-dev");
    const commands = devCommands(ws, PORTS, ["surrogate"]);
    const banner = devBanner(ws, PORTS, commands);
    expect(banner).toContain("DEMO");
    expect(banner).toContain("http://127.0.0.1:18080/device");
    expect(banner).toContain(`   ${commands.login}\n`);
    expect(banner).toContain(`   ${commands.curl}\n`);
    expect(banner).toContain(`   ${commands.refresh}\n`);
    expect(banner).toContain("(generated;");
    expect(devBanner({ ...ws, created: false }, PORTS, commands)).toContain("(reused;");
  });
});

import { DEV_AGENT_ID, DEV_HOST, DEV_PROVIDER, type DevPorts, devIssuer } from "./config-text.ts";
import { DEMO_LABEL } from "./idp-page.ts";
import type { DevWorkspace } from "./workspace.ts";

/**
 * How to run `surrogate` again from a second terminal: the compiled binary is its own executable;
 * from source it is `bun <entry point>`. Bun embeds a compiled program under /$bunfs/ (B:/~BUN/ on
 * Windows), which is how the two are told apart. The JSX files name their import source
 * themselves, so from source the entry point runs from any working directory.
 */
export function selfInvocation(main: string = Bun.main, execPath: string = process.execPath): string[] {
  const compiled = main.startsWith("/$bunfs/") || main.includes("~BUN");
  if (compiled) return [execPath];
  return [Bun.which("bun") === null ? execPath : "bun", main];
}

/** POSIX shell quoting, so a path with spaces or quotes still pastes as one argument. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface DevCommands {
  login: string;
  curl: string;
  refresh: string;
}

export function devCommands(workspace: DevWorkspace, ports: DevPorts, self: string[]): DevCommands {
  const { files, tokenPath } = workspace;
  const agent = ["--cert", files.agentCert, "--key", files.agentKey, "--ca", files.caCert];
  const broker = ["--broker", `https://${DEV_HOST}:${ports.agent}`];
  // --json keeps the refresh wrapper next to the access wrapper, so step 3 can use it.
  const login = [...self, "login", DEV_PROVIDER, ...broker, ...agent, "--json", "--out", tokenPath];
  const refresh = [...self, "refresh", "--in", tokenPath, ...broker, ...agent, "--json", "--out", tokenPath];
  const curl = ["curl", ...["--cert", files.agentCert, "--key", files.agentKey, "--cacert", files.caCert]];
  // The access wrapper from the login --json output, with sed rather than jq (not everywhere).
  // The header stays double-quoted so the shell runs $(…) and the token never sits in history.
  const extract = `sed -n 's/.*"access_token": "\\([^"]*\\)".*/\\1/p' ${shellQuote(tokenPath)}`;
  const header = `-H "Authorization: Bearer $(${extract})"`;
  const url = `https://${DEV_HOST}:${ports.agent}/${DEV_HOST}:${ports.upstream}/hello`;
  return {
    login: login.map(shellQuote).join(" "),
    curl: `${curl.map(shellQuote).join(" ")} ${header} ${url}`,
    refresh: refresh.map(shellQuote).join(" "),
  };
}

function adminLine(workspace: DevWorkspace, ports: DevPorts): string {
  if (workspace.adminPassword === undefined) return "";
  return ` admin UI    ${devIssuer(ports)}/admin      password: ${workspace.adminPassword}  (new on every start)\n`;
}

/** The text printed once everything listens; the commands work as pasted into a second terminal. */
export function devBanner(workspace: DevWorkspace, ports: DevPorts, commands: DevCommands): string {
  const reused = workspace.created ? "generated" : "reused";
  return `
==============================================================================
 surrogate dev — a local DEMO. Nothing here is for production.
==============================================================================
 workspace   ${workspace.dir}  (${reused}; delete it to start over)
 web port    ${devIssuer(ports)}         consent pages: ${devIssuer(ports)}/device
 agent port  https://${DEV_HOST}:${ports.agent}         mTLS; broker API and proxy
 demo IdP    http://${DEV_HOST}:${ports.idp}          ${DEMO_LABEL}
 upstream    https://${DEV_HOST}:${ports.upstream}         demo echo API (shows the Authorization it got)
 agent       ${DEV_AGENT_ID}
${adminLine(workspace, ports)}
In a second terminal:

1. Log in as the demo agent. It prints a URL: open it, click Approve, then "Sign in":

   ${commands.login}

2. Call the demo API through the proxy with the wrapper token:

   ${commands.curl}

   The echo shows "Bearer demo-access-…": the real token, which the agent never held.
   The file ${workspace.tokenPath} holds only wrappers, bound to agent.pem.

3. Get a fresh wrapper without asking the person again, then run step 2 again:

   ${commands.refresh}

Stop with Ctrl-C. Logs (JSON lines) follow on stdout.
`;
}

/** `surrogate revoke`: cut off a login, a workload, a person or a provider through the admin API (issue #15). */
import { boundedFetch } from "../core/io/bounded-fetch.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { escapeForTerminal } from "./token-description.ts";

const TOKEN_ENV = "SURROGATE_ADMIN_TOKEN";
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const send = boundedFetch(fetch, { timeoutMs: 15_000, maxBytes: 1024 * 1024 });

export const revokeCommand: Command = {
  name: "revoke",
  summary: "Revoke a login, a workload, a person or a provider on every instance (admin API)",
  usage: `Usage: surrogate revoke (--login ID | --workload GLOB | --sub S --provider P | --provider P) --web URL
       surrogate revoke --list --web URL

Creates a revocation rule through the broker's admin API (POST /admin/api/revocations): every
wrapper matching it, minted up to now, is refused by every instance within 2 s, at the proxy and at
refresh. Revoking a login also revokes its upstream refresh token at the identity provider where
the provider allows it. The API token is read from $${TOKEN_ENV} (the [admin] api_token of the
broker), never from a flag.

  --login ID        one login: the "sid" claim of its wrappers (surrogate inspect shows it)
  --workload GLOB   every wrapper a matching workload holds (glob as in [[policy]])
  --sub S           with --provider: every wrapper minted for that person at that provider
  --provider P      alone: every wrapper of that provider
  --list            list the active rules instead
  --web URL         the broker's web port, e.g. https://broker.example.com (http only for loopback)

Exit status: 0 done, 1 refused or unreachable, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      revokeCommand,
      {
        args,
        strict: true,
        allowPositionals: false,
        options: {
          login: { type: "string" },
          workload: { type: "string" },
          sub: { type: "string" },
          provider: { type: "string" },
          list: { type: "boolean" },
          web: { type: "string" },
        },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const { list, web, ...target } = parsed.values;
    const base = webUrl(web);
    if (typeof base !== "string") return usageError(revokeCommand, base.problem, context);
    const body = list === true ? (Object.keys(target).length === 0 ? null : undefined) : bodyOf(target);
    if (body === undefined) {
      return usageError(
        revokeCommand,
        "give exactly one of --login, --workload, --sub with --provider, --provider (or --list alone)",
        context,
      );
    }
    const token = context.env[TOKEN_ENV];
    if (token === undefined || token === "") {
      context.stderr.write(`surrogate revoke: set ${TOKEN_ENV} to the broker's [admin] api_token\n`);
      return 1;
    }
    return call(context, `${base}/admin/api/revocations`, token, body);
  },
};

function bodyOf(target: Record<string, string | undefined>): Record<string, string> | undefined {
  const given = Object.entries(target).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const names = given
    .map(([name]) => name)
    .sort()
    .join(",");
  return ["login", "workload", "provider,sub", "provider"].includes(names)
    ? Object.fromEntries(given)
    : undefined;
}

function webUrl(text: string | undefined): string | { problem: string } {
  if (text === undefined) return { problem: "--web URL is required (the broker's web port)" };
  if (!URL.canParse(text)) return { problem: "--web: not a URL" };
  const url = new URL(text);
  const plainOk = url.protocol === "http:" && LOOPBACK.has(url.hostname);
  if (url.protocol !== "https:" && !plainOk)
    return { problem: "--web: must be https:// (http only for loopback)" };
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "")
    return { problem: "--web: no credentials, query or fragment" };
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

async function call(context: CliContext, url: string, token: string, body: Record<string, string> | null) {
  let response: Response;
  try {
    response = await send(url, {
      method: body === null ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === null ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    context.stderr.write(`surrogate revoke: ${url} did not answer\n`);
    return 1;
  }
  const reply = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const detail = typeof reply.detail === "string" ? reply.detail : `HTTP ${response.status}`;
    context.stderr.write(`surrogate revoke: refused (${response.status}): ${escapeForTerminal(detail)}\n`);
    return 1;
  }
  const rules = body === null ? reply.revocations : [reply];
  for (const rule of Array.isArray(rules) ? rules : []) context.stdout.write(`${describe(rule)}\n`);
  if (body === null && Array.isArray(rules) && rules.length === 0)
    context.stdout.write("no active revocations\n");
  return 0;
}

function describe(rule: Record<string, unknown>): string {
  const scope = ["login", "workload", "sub", "provider"]
    .filter((name) => typeof rule[name] === "string")
    .map((name) => `${name}=${escapeForTerminal(String(rule[name]))}`)
    .join(" ");
  const since = typeof rule.not_before === "number" ? new Date(rule.not_before * 1000).toISOString() : "?";
  const upstream = rule.upstream as { outcome?: unknown; reason?: unknown } | undefined;
  const outcome =
    upstream === undefined
      ? ""
      : ` upstream=${escapeForTerminal(String(upstream.outcome))}${upstream.reason ? ` (${escapeForTerminal(String(upstream.reason))})` : ""}`;
  return `revoked ${scope} minted up to ${since} (rule ${escapeForTerminal(String(rule.id))}, by ${escapeForTerminal(String(rule.by))})${outcome}`;
}

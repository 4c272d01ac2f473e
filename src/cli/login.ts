import { OAuthError, type SurrogateError } from "../core/errors.ts";
import { postForm } from "./agent-client.ts";
import {
  AGENT_OPTION_SPEC,
  AGENT_OPTIONS_HELP,
  type AgentConnection,
  connectOptions,
  resolveAgentOptions,
} from "./agent-options.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import { type DeviceGrant, parseDeviceGrant, printable, replyError } from "./broker-reply.ts";
import type { CliContext, Command } from "./command.ts";
import { pollForToken } from "./device-poll.ts";
import { renderQr } from "./qr.ts";
import {
  checkOutputDirectory,
  OUTPUT_OPTION_SPEC,
  OUTPUT_OPTIONS_HELP,
  writeTokenResponse,
} from "./token-output.ts";

/** Provider names as configured: a short identifier, never anything a terminal would interpret. */
export const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export const loginCommand: Command = {
  name: "login",
  summary: "Get a wrapper token for a provider (device flow; a person approves in a browser)",
  usage: `Usage: surrogate login <provider> [--scope SCOPE]... [--out FILE] [--json]

Asks the broker for a token for <provider> over mTLS. The approval URL, the user code and a QR
code are printed to stderr; a person opens the URL, checks who is asking and approves. The
wrapper token (bound to --cert) is then printed to stdout, and nothing else is.

  --scope SCOPE  scope to request (repeatable; space-separated lists work too);
                 the provider's configured scopes when absent
${OUTPUT_OPTIONS_HELP}
${AGENT_OPTIONS_HELP}
Exit status: 0 token written, 1 refused/denied/expired/connection failed, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      loginCommand,
      {
        args,
        strict: true,
        allowPositionals: true,
        options: { ...AGENT_OPTION_SPEC, ...OUTPUT_OPTION_SPEC, scope: { type: "string", multiple: true } },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const [provider, ...extra] = parsed.positionals;
    if (provider === undefined) return usageError(loginCommand, "missing <provider>", context);
    if (extra.length > 0) return usageError(loginCommand, "only one <provider> at a time", context);
    if (!PROVIDER_NAME.test(provider))
      return usageError(loginCommand, "<provider> is not a provider name", context);
    const scope = (parsed.values.scope ?? []).flatMap((entry) => entry.split(" ")).filter((s) => s !== "");
    if (!scope.every((token) => SCOPE_TOKEN.test(token))) {
      return usageError(loginCommand, "--scope: invalid characters", context);
    }
    const options = resolveAgentOptions(parsed.values, context);
    if (typeof options === "string") return usageError(loginCommand, options, context);
    await checkOutputDirectory(parsed.values, context);
    const connection = await connectOptions(options, now(context));
    const grant = await createGrant(connection, provider, scope);
    showPrompt(grant, context);
    const token = await pollForToken(connection, grant, {
      sleep: context.sleep ?? Bun.sleep,
      now: () => now(context),
      stderr: context.stderr,
      isTTY: context.isTTY ?? process.stderr.isTTY === true,
    });
    await writeTokenResponse(token, parsed.values, context);
    return 0;
  },
};

function now(context: CliContext): number {
  return (context.now ?? Date.now)();
}

async function createGrant(
  connection: AgentConnection,
  provider: string,
  scope: string[],
): Promise<DeviceGrant> {
  const reply = await postForm(connection, "/v1/grants", {
    provider,
    ...(scope.length === 0 ? {} : { scope: scope.join(" ") }),
  });
  if (reply.status === 200) return parseDeviceGrant(reply.body, "the broker's grant answer");
  const error = replyError(reply, "the broker");
  // DESIGN §4.1: 403 access_denied here is the [[policy]] refusal, not a person's denial.
  if (error.code === "access_denied") {
    const said = detail(error);
    throw new OAuthError(
      "access_denied",
      said === "access_denied" ? `this workload may not use provider ${provider}` : said,
    );
  }
  if (error.code === "invalid_request") {
    throw new OAuthError("invalid_request", `the broker refused provider ${provider}: ${detail(error)}`);
  }
  throw error;
}

/** The broker's description without the "where" prefix replyError added. */
function detail(error: SurrogateError): string {
  return error.message.replace(/^the broker: /, "");
}

/** stderr only: stdout stays the token, so `TOKEN=$(surrogate login …)` still shows the prompt. */
function showPrompt(grant: DeviceGrant, context: CliContext): void {
  const complete = grant.verification_uri_complete;
  const lines = [
    "To approve this request, open in a browser:",
    "",
    `  ${complete ?? grant.verification_uri}`,
    "",
    `and check that it shows the code ${printable(grant.user_code)}` +
      (complete === undefined ? "" : ` (or go to ${grant.verification_uri} and type it in)`),
    "",
  ];
  context.stderr.write(`${lines.join("\n")}\n`);
  if (complete !== undefined) context.stderr.write(`${renderQr(complete)}\n`);
}

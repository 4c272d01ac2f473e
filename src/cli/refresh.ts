import { resolve } from "node:path";
import { OAuthError } from "../core/errors.ts";
import { postForm } from "./agent-client.ts";
import {
  AGENT_OPTION_SPEC,
  AGENT_OPTIONS_HELP,
  connectOptions,
  resolveAgentOptions,
} from "./agent-options.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import { parseTokenResponse, replyError } from "./broker-reply.ts";
import type { Command } from "./command.ts";
import { decodeUnverified, kindOf, readWrapper } from "./token-input.ts";
import { OUTPUT_OPTION_SPEC, OUTPUT_OPTIONS_HELP, writeTokenResponse } from "./token-output.ts";

export const refreshCommand: Command = {
  name: "refresh",
  summary: "Trade a refresh wrapper for a fresh access wrapper (and refresh wrapper)",
  usage: `Usage: surrogate refresh --in FILE|- [--out FILE] [--json]

Sends the refresh wrapper to the broker over mTLS (with the certificate it is bound to) and
prints the new access wrapper. The broker refreshes at the identity provider; a rotated upstream
refresh token comes back re-wrapped, so keep the new refresh wrapper (--json) for next time.

  --in FILE|-    the refresh wrapper, or the JSON written by "surrogate login --json"
                 (its refresh_token is used); - reads stdin
${OUTPUT_OPTIONS_HELP}
${AGENT_OPTIONS_HELP}
Exit status: 0 token written, 1 refused or connection failed, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      refreshCommand,
      {
        args,
        strict: true,
        options: { ...AGENT_OPTION_SPEC, ...OUTPUT_OPTION_SPEC, in: { type: "string" } },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const input = parsed.values.in;
    if (input === undefined) return usageError(refreshCommand, "missing --in FILE (or - for stdin)", context);
    const options = resolveAgentOptions(parsed.values, context);
    if (typeof options === "string") return usageError(refreshCommand, options, context);
    const source = input === "-" ? "-" : resolve(context.cwd, input);
    const wrapper = await readWrapper(source, "refresh_token", context, "--in");
    // Caught here, offline: sending an access wrapper would only earn an opaque invalid_grant.
    if (kindOf(decodeUnverified(wrapper).header) !== "refresh") {
      throw new OAuthError(
        "invalid_request",
        "--in holds an access wrapper; refresh needs the refresh wrapper",
      );
    }
    const connection = await connectOptions(options, (context.now ?? Date.now)());
    const reply = await postForm(connection, "/v1/token", {
      grant_type: "refresh_token",
      refresh_token: wrapper,
    });
    if (reply.status !== 200) throw replyError(reply, "the broker refused the refresh");
    await writeTokenResponse(
      parseTokenResponse(reply.body, "the broker's token answer"),
      parsed.values,
      context,
    );
    return 0;
  },
};

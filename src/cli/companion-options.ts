/**
 * The options `surrogate run` and `surrogate agent` share: which providers the companion serves,
 * whether other hosts get a blind tunnel, where wrappers live, and extra placeholder variables.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CliContext } from "./command.ts";
import { PROVIDER_NAME } from "./login.ts";

export const COMPANION_OPTION_SPEC = {
  provider: { type: "string", multiple: true },
  passthrough: { type: "boolean" },
  tokens: { type: "string" },
  env: { type: "string", multiple: true },
} as const;

export const COMPANION_OPTIONS_HELP = `Companion:
  --provider NAME   serve this provider (repeatable; the order decides which provider a host
                    shared by two belongs to); default: every provider the broker lets this
                    workload use
  --passthrough     tunnel hosts outside every provider blindly (no TLS termination, no token)
                    instead of answering 403, e.g. for package downloads
  --tokens DIR      wrapper files <provider>.json (as "surrogate login --json" writes them)
                    [default: $XDG_CONFIG_HOME/surrogate/tokens, else ~/.config/surrogate/tokens]
  --env VAR=PROVIDER  also set VAR to a placeholder token (repeatable); GH_TOKEN and GITHUB_TOKEN
                    are set for github providers, GITLAB_TOKEN for gitlab, SLACK_TOKEN for slack
`;

export interface CompanionOptionValues {
  provider?: string[] | undefined;
  passthrough?: boolean | undefined;
  tokens?: string | undefined;
  env?: string[] | undefined;
}

export interface CompanionSettings {
  providers: string[];
  passthrough: boolean;
  tokens: string;
  extra: Array<{ variable: string; provider: string }>;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The settings, or a one-line usage problem naming the flag. */
export function resolveCompanionOptions(
  values: CompanionOptionValues,
  context: CliContext,
): CompanionSettings | string {
  const providers = values.provider ?? [];
  const bad = providers.find((name) => !PROVIDER_NAME.test(name));
  if (bad !== undefined) return `--provider: ${JSON.stringify(bad)} is not a provider name`;
  const extra: CompanionSettings["extra"] = [];
  for (const entry of values.env ?? []) {
    const [variable = "", provider = ""] = entry.split("=", 2);
    if (!VARIABLE.test(variable) || !PROVIDER_NAME.test(provider) || !entry.includes("=")) {
      return `--env: ${JSON.stringify(entry)} is not VAR=PROVIDER`;
    }
    extra.push({ variable, provider });
  }
  const tokens = tokenDirectory(values.tokens, context);
  if (tokens === undefined) return "--tokens: no DIR given and neither XDG_CONFIG_HOME nor HOME is set";
  return { providers, passthrough: values.passthrough === true, tokens, extra };
}

function tokenDirectory(flag: string | undefined, context: CliContext): string | undefined {
  if (flag !== undefined) return resolve(context.cwd, flag);
  const config = context.env.XDG_CONFIG_HOME || (context.env.HOME ? join(context.env.HOME, ".config") : "");
  return config === "" ? undefined : join(config, "surrogate", "tokens");
}

/** Wrappers are credentials: their directory is created private (0700), like the files (0600). */
export async function ensurePrivateDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

import { resolve } from "node:path";
import { parseDuration } from "../core/config/duration.ts";
import { loadConfig } from "../core/config/load.ts";
import { loadKeySets } from "../core/keys/load.ts";
import type { KeySets } from "../core/keys/types.ts";
import { mintWrapper } from "../core/token/mint.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { inputError } from "./input.ts";
import { readCertificateBinding, readPublicKeyBinding, readSecretFromStdin } from "./seal-input.ts";

const DEFAULT_TTL = "30d";
const PROVIDER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const sealCommand: Command = {
  name: "seal",
  summary: "Wrap a static API key (read from stdin) for one workload's certificate or public key",
  usage: `Usage:
  surrogate seal --provider NAME (--cert FILE | --public-key FILE) [--ttl 30d] [--config FILE] < key.txt
  surrogate seal --provider NAME (--cert FILE | --public-key FILE) [--ttl 30d]
                 --signing SRC --encryption SRC --issuer URL < key.txt

Mints an access wrapper holding a long-lived API key, bound to one workload, and prints it on
stdout (the format: "Static secrets" and "The wrapper token" in surrogate's docs/design.md).
The key is read from STDIN only, never from the command line (arguments end up in shell history
and in ps); one trailing newline is removed, and empty input or a key
containing CR/LF is refused. At a terminal it is asked for and not echoed.

Give exactly one binding:
  --cert FILE        bind to this certificate (PEM or DER; cnf x5t#S256). The wrapper works only
                     with that exact certificate: when it is renewed, seal again.
  --public-key FILE  bind to a key pair (cnf jkt, the RFC 7638 JWK thumbprint): a PEM "PUBLIC KEY"
                     (openssl pkey -pubout), or a certificate (PEM or DER) whose key is taken. The
                     wrapper keeps working when the certificate is renewed for the SAME key pair
                     (it stops when the key changes, e.g. SPIFFE SVIDs that rotate their keys).
                     Private keys are refused.

  --provider NAME   provider the wrapper is for; with a config it must be kind "static"
  --ttl DURATION    lifetime, e.g. 90d, 12h (default ${DEFAULT_TTL}, at most 366d). The config's
                    token_ttl does NOT cap sealed wrappers: it caps tokens minted by the broker.
  --config FILE     take issuer and [keys] from this surrogate.toml      [SURROGATE_CONFIG]
  --signing SRC     or give the key sets directly (file:/path, env:VAR, credential:NAME) ...
  --encryption SRC
  --issuer URL      ... together with the broker's issuer (the iss the proxy expects)

Exit status: 0 wrapper printed, 1 failure, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      sealCommand,
      {
        args,
        strict: true,
        options: {
          provider: { type: "string" },
          cert: { type: "string" },
          "public-key": { type: "string" },
          ttl: { type: "string" },
          config: { type: "string" },
          signing: { type: "string" },
          encryption: { type: "string" },
          issuer: { type: "string" },
        },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const { provider, cert, "public-key": publicKey } = parsed.values;
    if (provider === undefined || !PROVIDER.test(provider)) {
      return usageError(sealCommand, "missing or invalid --provider NAME", context);
    }
    const bindingFile = cert ?? publicKey;
    if (bindingFile === undefined || (cert !== undefined && publicKey !== undefined)) {
      return usageError(sealCommand, "give exactly one of --cert FILE, --public-key FILE", context);
    }
    const source = keySource(parsed.values, context);
    if (typeof source === "string") return usageError(sealCommand, source, context);
    const tokenTtl = parseDuration(parsed.values.ttl ?? DEFAULT_TTL, "--ttl");
    const path = resolve(context.cwd, bindingFile);
    const target = cert === undefined ? await readPublicKeyBinding(path) : await readCertificateBinding(path);
    const { keys, issuer } = await loadSource(source, provider, context);
    const secret = await readSecretFromStdin(context);
    const now = (context.now ?? Date.now)();
    const minted = await mintWrapper(
      {
        kind: "access",
        provider,
        binding: target.binding,
        secret: { token: secret, type: "Bearer" },
      },
      keys,
      { issuer, tokenTtl, now },
    );
    context.stdout.write(`${minted.token}\n`);
    context.stderr.write(
      `sealed for ${target.description}, ` +
        `provider ${provider}, expires ${new Date(minted.exp * 1000).toISOString()}\n`,
    );
    return 0;
  },
};

type KeySource = { config: string } | { signing: string; encryption: string; issuer: string };

interface SourceValues {
  config?: string | undefined;
  signing?: string | undefined;
  encryption?: string | undefined;
  issuer?: string | undefined;
}

/** Exactly one way to get keys: a config file, or both key sets plus the issuer. */
function keySource(values: SourceValues, context: CliContext): KeySource | string {
  const explicit =
    values.signing !== undefined || values.encryption !== undefined || values.issuer !== undefined;
  if (values.config !== undefined && explicit)
    return "use either --config or --signing/--encryption/--issuer";
  if (explicit) {
    const { signing, encryption, issuer } = values;
    if (signing === undefined || encryption === undefined || issuer === undefined) {
      return "--signing, --encryption and --issuer go together";
    }
    if (!URL.canParse(issuer)) return "--issuer: not a URL";
    return { signing, encryption, issuer };
  }
  const config = values.config ?? context.env.SURROGATE_CONFIG;
  if (config === undefined || config === "") {
    return "missing --config FILE (or SURROGATE_CONFIG), or --signing/--encryption/--issuer";
  }
  return { config: resolve(context.cwd, config) };
}

/**
 * With a config, the provider must be a configured `static` one: a sealed key for an OAuth
 * provider would bypass consent for that provider, and an unknown name would mint a wrapper no
 * proxy routes anywhere.
 */
async function loadSource(
  source: KeySource,
  provider: string,
  context: CliContext,
): Promise<{ keys: KeySets; issuer: string }> {
  if (!("config" in source)) {
    return { keys: await loadKeySets(source, context.env), issuer: source.issuer };
  }
  const config = await loadConfig(source.config, context.env);
  const configured = Object.hasOwn(config.providers, provider) ? config.providers[provider] : undefined;
  if (configured === undefined) throw inputError(`--provider ${provider}: not in ${source.config}`);
  if (configured.kind !== "static") {
    throw inputError(
      `--provider ${provider}: is kind "${configured.kind}"; seal is for kind "static" providers (OAuth providers get tokens through login)`,
    );
  }
  return { keys: await loadKeySets(config.keys, context.env), issuer: config.issuer };
}

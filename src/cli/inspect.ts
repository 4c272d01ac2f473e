import { resolve } from "node:path";
import { TokenError } from "../core/errors.ts";
import { verifyWrapper } from "../core/token/verify.ts";
import { parseCommandArgs, usageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { readJwksText, verificationKeySets, verifiersFromJwks } from "./jwks.ts";
import { describeWrapper, escapeForTerminal } from "./token-description.ts";
import { decodeUnverified, kindOf, readWrapper } from "./token-input.ts";

const NOT_VERIFIED =
  "signature: NOT verified (this only decodes the token; anyone can write these claims).\n" +
  "           Pass --jwks URL|FILE to check it against the broker's public keys.\n";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show a wrapper's header, claims, binding and expiry (offline; never decrypts)",
  usage: `Usage: surrogate inspect [FILE|-] [--jwks URL|FILE] [--issuer URL]

Decodes a wrapper token (or the JSON written by "surrogate login --json": its access_token) and
prints its header, claims (the sealed upstream token shown as "[encrypted]"), what it is bound to
(cnf x5t#S256: a certificate, also shown as its SHA-256 fingerprint; cnf jkt: a public key's
RFC 7638 thumbprint; cnf spiffe_id: a workload, for refresh wrappers), provider, subject, time to
expiry and what set it (exp_bound: token_ttl, the upstream token, or the certificate's notAfter).
Works offline and never decrypts anything. Reads stdin when FILE is absent or -.

Without --jwks the signature is NOT verified: the output is what the token claims, nothing more.

  --jwks URL|FILE  verify the signature, typ, aud, exp and nbf against this JWK Set (the
                   broker's https://…/.well-known/jwks.json, or a file); exit 1 when invalid
  --issuer URL     with --jwks, also require this iss (otherwise the token's own iss is used)

Exit status: 0 decoded (and, with --jwks, valid), 1 unreadable or invalid, 2 usage error.
`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      inspectCommand,
      {
        args,
        strict: true,
        allowPositionals: true,
        options: { jwks: { type: "string" }, issuer: { type: "string" } },
      },
      context,
    );
    if (typeof parsed === "number") return parsed;
    const [file = "-", ...extra] = parsed.positionals;
    if (extra.length > 0) return usageError(inspectCommand, "one token at a time", context);
    if (parsed.values.issuer !== undefined && parsed.values.jwks === undefined) {
      return usageError(inspectCommand, "--issuer only makes sense with --jwks", context);
    }
    const source = file === "-" ? "-" : resolve(context.cwd, file);
    const token = await readWrapper(source, "access_token", context, file === "-" ? "stdin" : "token file");
    const decoded = decodeUnverified(token);
    const now = (context.now ?? Date.now)();
    const jwks = parsed.values.jwks;
    const verdict =
      jwks === undefined ? NOT_VERIFIED : await verify(token, jwks, parsed.values.issuer, context);
    context.stdout.write(`${describeWrapper(decoded, now)}${verdict}`);
    return 0;
  },
};

/**
 * The same verification the proxy and token endpoint apply (verifyWrapper): `typ` picks the rule
 * set (RFC 8725 §3.11), so an access wrapper is checked as one and a refresh wrapper as the other.
 */
async function verify(
  token: string,
  jwks: string,
  issuer: string | undefined,
  context: CliContext,
): Promise<string> {
  const { header, payload } = decodeUnverified(token);
  const kind = kindOf(header);
  const keys = await verificationKeySets(
    await verifiersFromJwks(await readJwksText(jwks, (path) => resolve(context.cwd, path))),
  );
  const expectedIssuer = issuer ?? (typeof payload.iss === "string" ? payload.iss : undefined);
  if (expectedIssuer === undefined) throw new TokenError("invalid_token", "wrapper: iss missing");
  const verified = await verifyWrapper(token, kind, keys, {
    issuer: expectedIssuer,
    now: (context.now ?? Date.now)(),
  });
  const issuerNote =
    issuer === undefined
      ? " (iss not compared with an expected issuer; pass --issuer)"
      : `, iss ${escapeForTerminal(issuer)}`;
  return `signature: valid (${kind} wrapper, kid ${escapeForTerminal(verified.kid)})${issuerNote}\n`;
}

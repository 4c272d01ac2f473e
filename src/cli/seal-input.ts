/**
 * What `surrogate seal` binds and wraps: the workload's certificate (PEM or DER) and the static
 * API key, read from stdin only.
 */
import { describeCertificate } from "../identity/certificate.ts";
import type { ClientIdentity } from "../identity/types.ts";
import { Secret } from "../secret.ts";
import type { CliContext } from "./command.ts";
import { inputError, readFileBytes, readStreamBytes, stdinOf, utf8Of } from "./input.ts";

/** API keys are short; a wrapper must stay under 16 KiB with the key encrypted inside. */
export const MAX_SECRET_BYTES = 8 * 1024;
const MAX_CERT_FILE_BYTES = 64 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/;

/**
 * The key comes from stdin, never argv: arguments land in shell history and are visible to every
 * user through `ps` / /proc/PID/cmdline. One trailing newline (what `echo` or a file adds) is
 * removed; any other CR or LF means the input is not one key, and sealing it would make the
 * proxy inject a header that splits (RFC 9110 §5.5 forbids CR/LF in field values).
 */
export async function readSecretFromStdin(context: CliContext): Promise<Secret> {
  if (context.stdin === undefined && process.stdin.isTTY === true) {
    context.stderr.write("Paste the API key, then press Enter and Ctrl-D (it is read from stdin only):\n");
  }
  const text = utf8Of(await readStreamBytes(stdinOf(context), MAX_SECRET_BYTES, "stdin"), "stdin");
  const key = text.replace(/\r?\n$/, "");
  if (key === "") throw inputError("stdin: empty; pipe the API key in, e.g. surrogate seal … < key.txt");
  if (/[\r\n]/.test(key)) throw inputError("stdin: the key contains a line break; give exactly one line");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) throw inputError("stdin: the key contains control characters");
  return new Secret(key);
}

/** The certificate the wrapper is bound to: the first PEM block, or the whole file as DER. */
export async function readBindingCertificate(path: string): Promise<ClientIdentity> {
  const bytes = await readFileBytes(path, MAX_CERT_FILE_BYTES, "--cert");
  const pem = PEM_CERTIFICATE.exec(new TextDecoder().decode(bytes));
  const der =
    pem === null ? bytes : new Uint8Array(Buffer.from((pem[1] ?? "").replace(/\s+/g, ""), "base64"));
  try {
    return describeCertificate(der);
  } catch (error) {
    throw inputError(`--cert ${path}: not a usable X.509 certificate (PEM or DER)`, error);
  }
}

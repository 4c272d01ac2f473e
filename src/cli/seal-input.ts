/**
 * What `surrogate seal` binds and wraps: the workload's certificate (PEM or DER) or public key,
 * and the static API key, read from stdin only.
 */
import { describeCertificate } from "../core/identity/certificate.ts";
import { keyThumbprintOf } from "../core/identity/key-thumbprint.ts";
import type { ClientIdentity } from "../core/identity/types.ts";
import { Secret } from "../core/secret.ts";
import type { Binding } from "../core/token/types.ts";
import type { CliContext } from "./command.ts";
import { inputError, readFileBytes, readStreamBytes, stdinOf, utf8Of } from "./input.ts";
import { readHidden, stdinIsTerminal } from "./terminal.ts";

/** API keys are short; a wrapper must stay under 16 KiB with the key encrypted inside. */
export const MAX_SECRET_BYTES = 8 * 1024;
const MAX_CERT_FILE_BYTES = 64 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/;
const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+?)-----END PUBLIC KEY-----/;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The `cnf` member a sealed wrapper gets, and how to name it to the operator. */
export interface SealBinding {
  binding: Binding;
  description: string;
}

/**
 * The key comes from stdin, never argv: arguments land in shell history and are visible to every
 * user through `ps` / /proc/PID/cmdline. One trailing newline (what `echo` or a file adds) is
 * removed; any other CR or LF means the input is not one key, and sealing it would make the
 * proxy inject a header that splits (RFC 9110 §5.5 forbids CR/LF in field values).
 */
export async function readSecretFromStdin(context: CliContext): Promise<Secret> {
  // At a terminal the key is typed or pasted without echo: an echoed key stays on screen, in the
  // terminal's scroll-back and in any recording of the session.
  const key = stdinIsTerminal(context.stdin) ? await typedKey(context) : await pipedKey(context);
  if (key === "") throw inputError("stdin: empty; pipe the API key in, e.g. surrogate seal … < key.txt");
  if (/[\r\n]/.test(key)) throw inputError("stdin: the key contains a line break; give exactly one line");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) throw inputError("stdin: the key contains control characters");
  return new Secret(key);
}

async function typedKey(context: CliContext): Promise<string> {
  const key = await readHidden(
    "API key (not shown; paste it, then press Enter): ",
    context.stderr,
    MAX_SECRET_BYTES,
  );
  if (new TextEncoder().encode(key).byteLength > MAX_SECRET_BYTES) {
    throw inputError(`stdin: the key is longer than ${MAX_SECRET_BYTES} bytes`);
  }
  return key;
}

async function pipedKey(context: CliContext): Promise<string> {
  const text = utf8Of(await readStreamBytes(stdinOf(context), MAX_SECRET_BYTES, "stdin"), "stdin");
  return text.replace(/\r?\n$/, "");
}

/** `--cert`: bound to that one certificate (RFC 8705 §3.1 `x5t#S256`). */
export async function readCertificateBinding(path: string): Promise<SealBinding> {
  const bytes = await readFileBytes(path, MAX_CERT_FILE_BYTES, "--cert");
  const identity = certificateOf(bytes, `--cert ${path}: not a usable X.509 certificate (PEM or DER)`);
  return {
    binding: { kind: "x5t#S256", value: identity.thumbprint },
    description: `${identity.workload} (certificate SHA-256 ${identity.fingerprint})`,
  };
}

/**
 * `--public-key`: bound to a key pair (RFC 7638 `jkt`), so renewing the certificate for the same
 * key keeps the wrapper usable. A PEM "PUBLIC KEY" (SPKI), or a certificate whose key is taken.
 * A private key is refused: seal never needs one, and copying it around is how it leaks.
 */
export async function readPublicKeyBinding(path: string): Promise<SealBinding> {
  const where = `--public-key ${path}`;
  const bytes = await readFileBytes(path, MAX_CERT_FILE_BYTES, "--public-key");
  const text = new TextDecoder().decode(bytes);
  if (PEM_PRIVATE_KEY.test(text)) {
    throw inputError(
      `${where}: holds a private key; give the public key (openssl pkey -pubout) or a certificate`,
    );
  }
  const spki = PEM_PUBLIC_KEY.exec(text);
  if (spki === null) {
    const identity = certificateOf(
      bytes,
      `${where}: neither a PEM PUBLIC KEY nor a certificate (PEM or DER)`,
    );
    return jktBinding(identity.keyThumbprint, `${identity.workload}'s public key`);
  }
  try {
    return jktBinding(keyThumbprintOf(base64Of(spki[1]), where), "public key");
  } catch (error) {
    throw inputError(`${where}: not a usable public key (EC, Ed25519 or RSA)`, error);
  }
}

function jktBinding(value: string, what: string): SealBinding {
  return { binding: { kind: "jkt", value }, description: `${what} (RFC 7638 thumbprint ${value})` };
}

/** The first PEM certificate block, or the whole file as DER. */
function certificateOf(bytes: Uint8Array, failure: string): ClientIdentity {
  const pem = PEM_CERTIFICATE.exec(new TextDecoder().decode(bytes));
  try {
    return describeCertificate(pem === null ? bytes : base64Of(pem[1]));
  } catch (error) {
    throw inputError(failure, error);
  }
}

function base64Of(body: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from((body ?? "").replace(/\s+/g, ""), "base64"));
}

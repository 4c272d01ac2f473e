import { ConfigError } from "../errors.ts";
import { parseStrictJson, StrictJsonError } from "../io/strict-json.ts";

/** Roots in one bundle; a real trust domain has a handful (two during a CA rotation). */
const MAX_BUNDLE_CERTIFICATES = 64;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The CA certificates (DER) of a trust bundle, written either as PEM (what spiffe-helper writes to
 * `bundle.pem`) or as a SPIFFE bundle (`spire-server bundle show -format spiffe`): a JWK Set whose
 * `use: "x509-svid"` keys each carry the CA certificate in `x5c` (SPIFFE Trust Domain and Bundle
 * §4.2.2, exactly one certificate). Keys for other uses (`jwt-svid`) are not X.509 authorities and
 * are skipped. `source` names the setting and file in errors.
 */
export function parseBundle(text: string, source: string): Uint8Array[] {
  const ders = text.trimStart().startsWith("{") ? spiffeBundle(text, source) : pemBundle(text);
  if (ders.length === 0) throw new ConfigError(source, "holds no CA certificate (PEM or SPIFFE bundle)");
  if (ders.length > MAX_BUNDLE_CERTIFICATES) {
    throw new ConfigError(source, `holds more than ${MAX_BUNDLE_CERTIFICATES} certificates`);
  }
  return ders;
}

/** PEM of the certificates, for the TLS stack's `ca`. */
export function pemOf(ders: readonly Uint8Array[]): string {
  return ders
    .map((der) => {
      const lines =
        Buffer.from(der)
          .toString("base64")
          .match(/.{1,64}/g) ?? [];
      return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
    })
    .join("");
}

function pemBundle(text: string): Uint8Array[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => new Uint8Array(Buffer.from(match[1] ?? "", "base64")));
}

function spiffeBundle(text: string, source: string): Uint8Array[] {
  let document: unknown;
  try {
    document = parseStrictJson(text);
  } catch (error) {
    const reason = error instanceof StrictJsonError ? error.message : "unreadable";
    throw new ConfigError(source, `not a PEM or SPIFFE bundle: ${reason}`);
  }
  const keys = isRecord(document) ? document.keys : undefined;
  if (!Array.isArray(keys)) throw new ConfigError(source, "SPIFFE bundle: keys must be an array (a JWK Set)");
  return keys.flatMap((key, index) => x509Authority(key, `${source}: keys[${index}]`));
}

function x509Authority(key: unknown, where: string): Uint8Array[] {
  if (!isRecord(key)) throw new ConfigError(where, "must be a JWK object");
  if (key.use !== "x509-svid") return [];
  const chain = key.x5c;
  // §4.2.2: an X.509 authority key carries its one CA certificate, no chain.
  if (!Array.isArray(chain) || chain.length !== 1 || typeof chain[0] !== "string" || !BASE64.test(chain[0])) {
    throw new ConfigError(where, 'use "x509-svid" needs x5c with exactly one base64 certificate');
  }
  return [new Uint8Array(Buffer.from(chain[0], "base64"))];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

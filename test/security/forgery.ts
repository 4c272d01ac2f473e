/**
 * Token forgery kit for the JOSE attack suite: raw-text headers and payloads (so duplicates, odd
 * types and unknown members survive), signatures by our key, an attacker's key, or HMAC keyed with
 * our public key, and ECDSA signature surgery (r/s values, DER, lengths).
 */
import { thumbprintOf } from "../../src/core/identity/thumbprint.ts";
import type { KeySets } from "../../src/core/keys/types.ts";
import { b64url, json, validPayload } from "../unit/core/token/forge.ts";
import { PROVIDER, type Rig, realTok } from "./harness.ts";

const encoder = new TextEncoder();

/** The order n of the P-256 group (SEC 2 §2.4.2). */
export const P256_N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

export interface Forge {
  rig: Rig;
  /** Claims that pass every check for alpha at the rig's clock (real tok, real binding). */
  payload(extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Our real header: alg, kid, typ. */
  header(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Signs raw header/payload texts with `keys`' signer (default: ours). */
  sign(header: string, payload: string, keys?: KeySets): Promise<string>;
  /** A wrapper with our signature whose header/payload are the given objects (serialised as JSON). */
  signed(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string>;
  /** Seconds at the rig's clock (floor), the NumericDate jose compares against. */
  t: number;
}

export function forge(rig: Rig): Forge {
  const thumbprint = thumbprintOf(rig.pki.alpha.der);
  const signer = rig.keys.signer;
  if (signer === undefined) throw new Error("test keys have no signer");
  const sign = (header: string, payload: string, keys = rig.keys) => signRawWith(keys, header, payload);
  return {
    rig,
    t: Math.floor(rig.clock / 1000),
    payload: async (extra = {}) =>
      validPayload(rig.clock, {
        prv: PROVIDER,
        cnf: { "x5t#S256": thumbprint },
        tok: await realTok(rig),
        ...extra,
      }),
    header: (extra = {}) => ({ alg: signer.alg, kid: signer.kid, typ: "surrogate+jwt", ...extra }),
    sign,
    signed: (header, payload) => sign(json(header), json(payload)),
  };
}

async function signRawWith(keys: KeySets, header: string, payload: string): Promise<string> {
  const signer = keys.signer;
  if (signer === undefined) throw new Error("no signer");
  return signInput(signer.key, `${b64url(header)}.${b64url(payload)}`);
}

/** ES256 (P1363 r||s) over `input` with any ECDSA private key: an attacker's own key. */
export async function signInput(key: CryptoKey, input: string): Promise<string> {
  const params = key.algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  const signature = new Uint8Array(await crypto.subtle.sign(params, key, encoder.encode(input)));
  return `${input}.${b64url(signature)}`;
}

export async function attackerKey(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

/** HS256 over header.payload keyed with `secret` (the classic RS/ES→HS confusion, RFC 8725 §2.1). */
export async function hmacWith(secret: string, header: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const input = `${b64url(header)}.${b64url(payload)}`;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input)));
  return `${input}.${b64url(mac)}`;
}

/** Our public signing key as SPKI PEM, with a chosen line ending and trailing text. */
export async function publicPem(keys: KeySets, eol: string, trailer: string): Promise<string> {
  const jwk = keys.publicJwks.keys[0];
  if (jwk === undefined) throw new Error("no public key");
  const params = { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("jwk", jwk as JsonWebKey, params, true, ["verify"]);
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", key)).toString("base64");
  const lines = spki.match(/.{1,64}/g) ?? [];
  return ["-----BEGIN PUBLIC KEY-----", ...lines, "-----END PUBLIC KEY-----"].join(eol) + trailer;
}

/** Replaces the signature segment with `signature` bytes. */
export function withSignature(token: string, signature: Uint8Array): string {
  const parts = token.split(".");
  return `${parts[0]}.${parts[1]}.${b64url(signature)}`;
}

export function signatureOf(token: string): { r: bigint; s: bigint } {
  const bytes = Buffer.from(token.split(".")[2] ?? "", "base64url");
  return { r: toBig(bytes.subarray(0, 32)), s: toBig(bytes.subarray(32, 64)) };
}

export function rs(r: bigint, s: bigint): Uint8Array {
  return new Uint8Array([...fromBig(r), ...fromBig(s)]);
}

/** ASN.1 DER Ecdsa-Sig-Value (what OpenSSL emits), instead of JWS's fixed-length r||s (RFC 7518 §3.4). */
export function derOf(r: bigint, s: bigint): Uint8Array {
  const integer = (value: bigint) => {
    let bytes = [...fromBig(value)];
    while (bytes.length > 1 && bytes[0] === 0 && (bytes[1] ?? 0) < 0x80) bytes = bytes.slice(1);
    if ((bytes[0] ?? 0) >= 0x80) bytes = [0, ...bytes];
    return [0x02, bytes.length, ...bytes];
  };
  const body = [...integer(r), ...integer(s)];
  return new Uint8Array([0x30, body.length, ...body]);
}

function toBig(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
}

function fromBig(value: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(value.toString(16).padStart(64, "0").slice(-64), "hex"));
}

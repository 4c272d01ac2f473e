/**
 * `jwks:https://…`: a broker's published signing keys (`/.well-known/jwks.json`), fetched by a
 * proxy-only instance so that it verifies wrappers without holding any signing private key.
 * Public keys only: whatever else the document carries (a private `d` included) is never imported.
 */
import type { JSONWebKeySet } from "jose";
import { isLoopbackHost } from "../config/url.ts";
import { KeysError } from "../errors.ts";
import { boundedFetch } from "../io/bounded-fetch.ts";
import { BodyTooLargeError } from "../io/read-capped.ts";
import { importVerificationKey, readKid } from "./jwk.ts";
import { MAX_KEY_SET_BYTES } from "./source.ts";
import type { VerificationKey } from "./types.ts";

export const JWKS_PREFIX = "jwks:";
/** A broker answers its JWKS from memory; a slow answer is a broken broker, not a reason to hang. */
export const JWKS_TIMEOUT_MS = 5_000;
const MAX_REMOTE_KEYS = 32;

export interface RemoteVerifiers {
  verifiers: ReadonlyMap<string, VerificationKey>;
  publicJwks: JSONWebKeySet;
}

export function isJwksSource(source: string): boolean {
  return source.startsWith(JWKS_PREFIX);
}

/**
 * The verification keys are only as trustworthy as the channel they arrive on: anyone who can
 * answer this request can make the proxy accept their wrappers. Hence https (RFC 8725 §3.10 warns
 * against keys from unauthenticated sources), plain http only to a loopback broker, no redirects.
 */
export function jwksUrlOf(source: string, label: string): URL {
  const text = source.slice(JWKS_PREFIX.length);
  if (!isJwksSource(source) || !URL.canParse(text)) throw new KeysError(`${label}: jwks: needs a URL`);
  const url = new URL(text);
  const local = url.protocol === "http:" && isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !local) throw new KeysError(`${label}: jwks: URL must be https://`);
  if (url.username !== "" || url.password !== "") throw new KeysError(`${label}: jwks: URL has user info`);
  return url;
}

/** Fetches and imports the public signing keys; throws KeysError naming `label` and the URL. */
export async function fetchRemoteVerifiers(
  url: URL,
  label: string,
  fetchImpl: typeof fetch,
): Promise<RemoteVerifiers> {
  const where = `${label} (${url.href})`;
  const get = boundedFetch(fetchImpl, { timeoutMs: JWKS_TIMEOUT_MS, maxBytes: MAX_KEY_SET_BYTES });
  let response: Response;
  try {
    response = await get(url.href, { headers: { accept: "application/jwk-set+json, application/json" } });
  } catch (cause) {
    const problem = cause instanceof BodyTooLargeError ? "answer too large" : "unreachable or too slow";
    throw new KeysError(`${where}: ${problem}`, { cause });
  }
  if (response.status !== 200) throw new KeysError(`${where}: answered HTTP ${response.status}`);
  const set: unknown = await response.json().catch(() => undefined);
  return importRemoteSet(set, where);
}

async function importRemoteSet(set: unknown, where: string): Promise<RemoteVerifiers> {
  const keys = typeof set === "object" && set !== null ? (set as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeysError(`${where}: not a non-empty JWK Set`);
  if (keys.length > MAX_REMOTE_KEYS) throw new KeysError(`${where}: more than ${MAX_REMOTE_KEYS} keys`);
  const verifiers = new Map<string, VerificationKey>();
  const published: JSONWebKeySet["keys"] = [];
  for (const [index, jwk] of keys.entries()) {
    const keyWhere = `${where}: key #${index + 1}`;
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
      throw new KeysError(`${keyWhere}: not a JSON object`);
    const record = jwk as Record<string, unknown>;
    // A kid must select exactly one key (as for local sets), so a duplicate refuses the whole set.
    if (verifiers.has(readKid(record, keyWhere))) throw new KeysError(`${keyWhere}: duplicate kid`);
    const imported = await importVerificationKey(record, keyWhere);
    verifiers.set(imported.verifier.kid, imported.verifier);
    published.push(imported.publicJwk);
  }
  return { verifiers, publicJwks: { keys: published } };
}
